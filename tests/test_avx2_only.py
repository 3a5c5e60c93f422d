"""bench/avx2_only.sh: every library in the process sees an AVX2-only CPU (where the machine can emulate one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from bench.common import cpu_flags
from tests.conftest import ROOT

PROBE = ("import json, torch, cv2, onnxruntime as ort, numpy as np; "
         "s = ort.InferenceSession('fer/weights/fer2013-fastcnn48-int8.onnx', providers=['CPUExecutionProvider']); "
         "p = s.run(None, {s.get_inputs()[0].name: np.zeros((2, 1, 48, 48), np.float32)})[0]; "
         "print(json.dumps([torch.backends.cpu.get_cpu_capability(), cv2.checkHardwareSupport(13), "
         "cv2.checkHardwareSupport(11), list(p.shape)]))")  # 13: AVX512F, 11: AVX2 in OpenCV's numbering


@pytest.mark.skipif(not {"cpuid_fault", "avx2"} <= cpu_flags() or shutil.which("gcc") is None,
                    reason="needs an x86-64 Linux CPU with CPUID faulting and AVX2, and gcc")
def test_avx2_only_masks_avx512_for_torch_opencv_and_onnxruntime(tmp_path):
    env_lib = {"AVX2_ONLY_LIB": str(tmp_path / "avx2_only.so")}
    # This interpreter, not the first `python` on PATH: in a virtualenv they differ.
    out = subprocess.run(["bash", "bench/avx2_only.sh", sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, **env_lib}, timeout=120)
    assert out.returncode == 0, out.stderr
    capability, avx512f, avx2, shape = json.loads(out.stdout.strip().splitlines()[-1])
    assert capability == "AVX2" and avx512f is False and avx2 is True
    assert shape == [2, 7]  # ONNX Runtime still runs the bundled model, on its AVX2 kernels
