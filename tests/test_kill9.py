"""kill -9 at every stage of a real ``ogi run``, then a run to completion: nothing lost, nothing doubled.

One module-scoped sequence (to keep CI cheap): a clean project gets one uninterrupted run; a second project
over the same sample portal gets a run killed from outside a few seconds after its own Prefect server came
up, then one run killed by itself (``OGI_KILL_AT``) at each stage in pipeline order — crawl, extraction, the
load transaction, the snapshot publication, alert delivery — then one run to completion.  Each killed run
leaves its successor the state a real crash leaves, so the completing run must repair all of them at once.
The tests below each check one promise of that sequence (docs/reliability.md).  ``bench/chaos_kill.py``
kills at every point separately (and at more times).
"""

from __future__ import annotations

import collections

import pytest

from kill9_harness import Lab, report_counts, runs
from warehouse.checksum import RUN_TIME_COLUMNS, differences, file_checksums

pytestmark = pytest.mark.prefect

#: (label, run options) in pipeline order; every self-kill point is reached after the writer lock is taken
STEPS = [
    ("timed", dict(own_server=True, kill_after_child_s=3.0)),
    ("crawl", dict(kill_at="crawl.archived:20")),
    ("extract", dict(kill_at="extract.document:10")),
    ("load", dict(kill_at="load.rows")),
    ("piece", dict(kill_at="load.piece:2")),
    ("publish", dict(kill_at="publish.copied")),
    ("alerts", dict(kill_at="alerts.sent")),
    ("complete", dict()),
]
SELF_KILLED = [label for label, kw in STEPS if "kill_at" in kw]


@pytest.fixture(scope="module")
def seq(tmp_path_factory):
    with Lab(tmp_path_factory.mktemp("kill9")) as lab:
        clean = lab.project("clean")
        clean_run = lab.run(clean)
        assert clean_run.returncode == 0, clean_run.stderr
        proj = lab.project("killed")
        outcomes, published, temps = {}, {}, {}
        for label, kw in STEPS:
            outcomes[label] = lab.run(proj, **kw)
            published[label] = proj.db.exists()
            temps[label] = sorted(p.name for p in proj.db.parent.glob(".*.tmp"))
        yield dict(lab=lab, clean=clean, proj=proj, out=outcomes, published=published, temps=temps,
                   clean_digests=lab.alert_items(clean), digests=lab.alert_items(proj))


def test_each_step_was_killed_where_asked_and_the_last_run_completes(seq):
    out = seq["out"]
    for label, _ in STEPS[:-1]:
        assert out[label].killed, (label, out[label].returncode, out[label].stderr[-2000:])
    assert out["complete"].returncode == 0, out["complete"].stderr[-2000:]
    # a self-killed run died at its point, not before: each one got as far as holding the writer lock
    taken_over = {pid for o in out.values() for pid, _ in o.takeovers()}
    assert {out[label].pid for label in SELF_KILLED} <= taken_over


def test_analytics_equal_one_uninterrupted_run(seq):
    """Every analytics view the analyst reads (the published snapshot) equals the clean run's, cell for cell
    (the run log and the columns saying *when* a row was seen are run-dependent by design)."""
    clean = file_checksums(seq["clean"].db, ignore_columns=RUN_TIME_COLUMNS)
    killed = file_checksums(seq["proj"].db, ignore_columns=RUN_TIME_COLUMNS)
    assert len(clean) > 10 and clean["facts"].rows > 1000
    assert differences(clean, killed) == {}


def test_no_report_lost_or_doubled(seq):
    killed, clean = report_counts(seq["proj"].db), report_counts(seq["clean"].db)
    assert set(killed.values()) == {1}
    assert sorted(killed) == sorted(clean)


def test_alerts_never_lost_and_only_an_in_doubt_digest_repeated(seq):
    """At least once: the run killed after the sink accepted its digest (before the outbox recorded it) leaves
    that digest in doubt, and the next run sends it again, identical; no other alert is ever repeated or lost."""
    (clean,) = seq["clean_digests"]
    # a first run sends one baseline item per portal (issue 10), each exactly once
    assert len(clean) == 5 and {kind for kind, _ in clean} == {"Baseline (first run of a portal)"}
    assert max(clean.values()) == 1
    # nothing reached the sink before the alerts step (the earlier runs died before delivering) …
    assert seq["digests"] == [clean, clean], [sum(d.values()) for d in seq["digests"]]
    # … and the completing run delivered nothing else: a third run sends nothing
    lab, proj = seq["lab"], seq["proj"]
    again = lab.run(proj)
    assert again.returncode == 0 and len(lab.alert_items(proj)) == 2


def test_stale_lock_is_detected_taken_over_and_logged(seq):
    out = seq["out"]
    labels = [label for label, _ in STEPS]
    for prev, nxt in zip(labels, labels[1:]):
        dead = out[prev]
        took = dict(out[nxt].takeovers())
        if prev in SELF_KILLED:
            assert dead.pid in took, (prev, nxt, out[nxt].stderr[-1500:])
        # the successor did not wait for the dead holder (lock_timeout_s is 0.5 s: waiting would refuse the run)
        assert "locked by another run" not in out[nxt].stderr
    lock = seq["proj"].work_db.with_name(seq["proj"].work_db.name + ".lock")
    assert lock.read_text() == ""  # the completing run closed cleanly: nothing stale for the next night


def test_killed_runs_are_interrupted_in_the_run_log(seq):
    log = runs(seq["proj"].db)
    killed_ids = {run_id for o in seq["out"].values() for _, run_id in o.takeovers()}
    assert len(killed_ids) >= len(SELF_KILLED) and None not in killed_ids
    assert {log[r][0] for r in killed_ids} == {"interrupted"}
    assert all(log[r][1] for r in killed_ids)  # with the reason
    statuses = collections.Counter(s for s, _ in log.values())
    assert statuses["interrupted"] == len(killed_ids) and set(statuses) == {"interrupted", "ok"}  # none "running"


def test_no_child_process_outlives_a_killed_run(seq):
    out = seq["out"]
    timed = out["timed"]
    assert any("uvicorn" in cmd or "prefect" in cmd for cmd in timed.children.values()), timed.children
    for label, o in out.items():
        assert o.survivors == {}, (label, o.survivors)


def test_a_killed_publication_never_tears_the_snapshot(seq):
    # nothing was published before the publish step; killed mid-publication it left only its temp copy …
    assert not any(seq["published"][label] for label in ("timed", "crawl", "extract", "load", "piece", "publish"))
    assert seq["temps"]["publish"]
    # … which the next publication removed, replacing the snapshot whole
    assert seq["published"]["alerts"] and seq["temps"]["complete"] == []


def test_a_crawl_killed_between_a_page_and_its_attachment_fetches_the_attachment_next_run(seq):
    """The page is archived, its attachment never requested: the next run gets a 304 for the page, and must still
    read it for its attachments (a page is confirmed only after them) — else the report is lost for good."""
    lab, clean = seq["lab"], seq["clean"]
    proj = lab.project("attachment")
    killed = lab.run(proj, kill_at="crawl.attachment:1")
    assert killed.killed, killed.stderr[-2000:]
    done = lab.run(proj)
    assert done.returncode == 0, done.stderr[-2000:]
    assert report_counts(proj.db) == report_counts(clean.db)
    assert differences(file_checksums(clean.db, ignore_columns=RUN_TIME_COLUMNS),
                       file_checksums(proj.db, ignore_columns=RUN_TIME_COLUMNS)) == {}
