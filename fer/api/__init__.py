"""The public Python API: `Recognizer` (predict, analyze, stream) and the types it returns."""
