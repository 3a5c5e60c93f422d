"""A corpus of videos analysed in one run: `ferkit analyze source=DIR output=OUT`, or from Python
`fer.analyze_corpus(...)`: a CSV per clip, a summary, the provenance, resumable, on N processes or
sharded over cluster jobs. See docs/corpus.md."""
