"""POST /admin/reindex: rebuild a config's index in a background thread, then swap it in.

    request ─▶ Job(running) ─▶ thread: build_index (chunk, fit, write, publish atomically)
                                  └─▶ Pipeline over the new index ─▶ state.install(name, new)

Until the swap, every query is answered by the old pipeline, whose index stays in memory
(and whose files stay on disk until `ingest.indexer` publishes the new version). If the
build fails, or the process dies midway, nothing is swapped: the job says `failed` (or
vanishes with the process) and the old index keeps serving, here and after a restart,
because the indexer publishes with an atomic symlink rename only once the new version
is complete. The reranker and generator are reused when their config did not change (a
local LLM server is not restarted for a new index).

Left out on purpose: cancelling a running build (Python threads cannot be killed; kill
the process, which is safe, see above) and building in another process.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from ingest.indexer import Index, build_index
from rag.config import PipelineConfig
from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.registry import build_generator, build_reranker, build_rewriter
from service.errors import ApiError
from service.metrics import Metrics
from service.state import ServiceState, index_info

log = logging.getLogger("service.reindex")
KEEP_JOBS = 20  # finished jobs remembered for GET /admin/reindex/{job_id}


@dataclass
class Job:
    job_id: str
    config: str
    status: str = "running"
    stage: str = "load corpus"
    done: int = 0
    total: int = 0
    started_at: str = ""
    finished_at: str | None = None
    error: str | None = None
    index: dict[str, Any] | None = None

    def progress(self, stage: str, done: int, total: int) -> None:
        """The indexer's progress callback; after the last chunk come fit and publish."""
        self.done, self.total = done, total
        self.stage = stage if done < total else "fit + publish"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Reindexer:
    def __init__(self, state: ServiceState, metrics: Metrics) -> None:
        self.state, self.metrics = state, metrics
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, name: str) -> Job:
        """Validate the config now (404/503 here), then build in a daemon thread."""
        config = self.state.config(name)
        with self._lock:
            running = [j for j in self.jobs.values() if j.config == name and j.status == "running"]
            if running:
                raise ApiError(
                    409,
                    f"a reindex of {name!r} is already running",
                    f"wait for job {running[0].job_id} (GET /admin/reindex/{running[0].job_id})",
                )
            job = Job(uuid.uuid4().hex[:12], name, started_at=_now())
            self.jobs[job.job_id] = job
            self._forget_old()
        thread = threading.Thread(
            target=self._run, args=(job, config), name=f"reindex-{name}", daemon=True
        )
        thread.start()
        log.info("reindex started", extra={"config": name, "job_id": job.job_id})
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(
                404,
                f"unknown reindex job {job_id!r}",
                "use the job_id POST /admin/reindex returned",
                field="job_id",
            )
        return job

    def _run(self, job: Job, config: PipelineConfig) -> None:
        try:
            index = build_index(config, progress=job.progress)
            self.state.install(job.config, self._pipeline(job.config, config, index))
        except RagError as exc:
            self._finish(job, "failed", error=str(exc))
        except Exception as exc:  # a thread must not die silently: record it, log it
            log.error("reindex crashed", exc_info=exc, extra={"job_id": job.job_id})
            self._finish(
                job,
                "failed",
                error=f"internal error ({type(exc).__name__}); "
                f"see the server log for job {job.job_id}",
            )
        else:
            self._finish(job, "finished", index=index_info(index))

    def _pipeline(self, name: str, config: PipelineConfig, index: Index) -> Pipeline:
        """A pipeline over the new index, reusing the old models where their config is unchanged."""
        old = self.state.loaded().get(name)
        if old is not None and old.config.reranker == config.reranker:
            reranker = old.reranker
        else:
            reranker = build_reranker(config.reranker) if config.reranker else None
        if old is not None and old.config.generator == config.generator:
            generator = old.generator
        else:
            generator = build_generator(config.generator)
        if old is not None and old.config.rewriter == config.rewriter:
            rewriter = old.rewriter
        else:
            rewriter = build_rewriter(config.rewriter) if config.rewriter else None
        return Pipeline(config, index, reranker, generator, rewriter)

    def _finish(self, job: Job, status: str, **fields: Any) -> None:
        job.status, job.finished_at = status, _now()
        for key, value in fields.items():
            setattr(job, key, value)
        self.metrics.reindex.labels(job.config, status).inc()
        log.info(
            "reindex " + status,
            extra={"config": job.config, "job_id": job.job_id, "error": job.error},
        )

    def _forget_old(self) -> None:
        done = [j for j in self.jobs.values() if j.status != "running"]
        for job in done[: max(0, len(self.jobs) - KEEP_JOBS)]:
            self.jobs.pop(job.job_id, None)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
