/* Make an AVX-512/AMX x86-64 Linux machine look like an AVX2-only CPU to every library in a process.

   Use (Linux on x86-64 with CPUID faulting: `grep cpuid_fault /proc/cpuinfo`):
       bench/avx2_only.sh python scripts/eval.py ...      # builds this file once, then preloads it

   Libraries pick their kernels from the CPUID instruction. ONEDNN_MAX_CPU_ISA and ATEN_CPU_CAPABILITY
   cap PyTorch only; ONNX Runtime and OpenCV have no such switch. Here the kernel is asked to fault on
   CPUID (arch_prctl ARCH_SET_CPUID), and the fault handler answers each CPUID itself, with the AVX-512,
   AVX-VNNI and AMX feature bits cleared, the way an AVX2 laptop or an AMD EPYC before Zen 4 reports
   them. Only glibc has read CPUID before this library loads (its string functions keep their AVX-512
   variants); PyTorch, oneDNN, ONNX Runtime and OpenCV, which do the numeric work, see AVX2 only.

   Timings stay those of this machine's cores, clocks and caches: only the instruction set is AVX2's. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static int set_cpuid_faulting(int on) {
    return (int)syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1);
}

static void real_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static void mask_to_avx2(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    if (leaf == 7 && sub == 0) {
        /* EBX: AVX512 F, DQ, IFMA, PF, ER, CD, BW, VL */
        r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) |
                  (1u << 31));
        /* ECX: AVX512 VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */
        r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        /* EDX: AVX512 4VNNIW, 4FMAPS, VP2INTERSECT, AMX-BF16, AVX512-FP16, AMX-TILE, AMX-INT8 */
        r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
    } else if (leaf == 7 && sub == 1) {
        /* EAX: AVX-VNNI, AVX512-BF16, AMX-FP16, AVX-IFMA */
        r[0] &= ~((1u << 4) | (1u << 5) | (1u << 21) | (1u << 23));
    }
}

static void on_fault(int sig, siginfo_t *info, void *ctx_) {
    ucontext_t *ctx = (ucontext_t *)ctx_;
    greg_t *g = ctx->uc_mcontext.gregs;
    const unsigned char *pc = (const unsigned char *)g[REG_RIP];
    (void)sig;
    (void)info;
    if (pc[0] != 0x0f || pc[1] != 0xa2) { /* not CPUID: a real crash; let it happen */
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    uint32_t r[4], leaf = (uint32_t)g[REG_RAX], sub = (uint32_t)g[REG_RCX];
    set_cpuid_faulting(0);
    real_cpuid(leaf, sub, r);
    set_cpuid_faulting(1);
    mask_to_avx2(leaf, sub, r);
    g[REG_RAX] = r[0];
    g[REG_RBX] = r[1];
    g[REG_RCX] = r[2];
    g[REG_RDX] = r[3];
    g[REG_RIP] += 2;
}

__attribute__((constructor)) static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) == 0 && set_cpuid_faulting(1) != 0) {
        static const char msg[] = "avx2_only: this kernel or CPU cannot fault on CPUID; nothing is masked\n";
        ssize_t n = write(2, msg, sizeof msg - 1);
        (void)n;
    }
}
