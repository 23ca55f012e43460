"""What a run holds in memory, observed from outside: extracted documents not yet loaded (issue 10)."""

from __future__ import annotations


class Outstanding:
    """Counts documents extracted and not yet loaded by a run (what the run holds in memory), at its worst."""

    def __init__(self, monkeypatch):
        import threading

        from flows import pipeline

        self.lock, self.extracted, self.loaded, self.worst, self.unreleased = threading.Lock(), 0, 0, 0, 0
        real_extract, real_add = pipeline.extract_document, pipeline.RunStream.add

        def extract_document(data, doc):
            with self.lock:
                self.extracted += 1
                self.worst = max(self.worst, self.extracted - self.loaded)
            return real_extract(data, doc)

        def add(stream, batch, **kw):
            real_add(stream, batch, **kw)
            with self.lock:
                self.loaded += batch.extracted
                self.unreleased += sum(d.report is not None for d in batch.documents)

        monkeypatch.setattr(pipeline, "extract_document", extract_document)
        monkeypatch.setattr(pipeline.RunStream, "add", add)
