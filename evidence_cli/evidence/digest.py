"""`evidence new`: what the latest run of a topic added, updated or deleted, claim by claim.

The digest a cron job mails after `evidence refresh`. It reads the run log (`runs`,
`run_changes`) and the records' current tags; it says so plainly when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidence_cli.evidence.summary import Verdict
    from evidence_cli.store.db import Store
    from evidence_cli.store.reports import ChangedStudy
    from evidence_cli.store.runs import Run
    from evidence_cli.workspace import Topic


@dataclass(frozen=True)
class ClaimChanges:
    id: str
    label: str
    verdict: Verdict  # the claim's verdict now, after the run
    studies: tuple[tuple[ChangedStudy, str, str], ...]  # (study, stance, evidence sentence), added then updated


@dataclass(frozen=True)
class Digest:
    topic: str
    title: str
    run: Run | None  # None: the topic was never refreshed or imported
    claims: tuple[ClaimChanges, ...]  # only claims the run touched
    untagged: tuple[ChangedStudy, ...]  # added or updated records that make none of the claims
    deleted: tuple[str, ...]

    @property
    def nothing_changed(self) -> bool:
        return not (self.claims or self.untagged or self.deleted)

    def headline(self) -> str:
        """One line: which run, when, and what it did."""
        if self.run is None:
            return f"{self.topic}: no refresh or import recorded yet: run `evidence refresh {self.topic}`"
        r = self.run
        when = r.finished_at or r.started_at
        counts = (f"{self.count('added')} added, {self.count('updated')} updated, {len(self.deleted)} deleted")
        status = "" if r.outcome == "complete" else f" ({r.outcome}{': ' + r.error if r.error else ''})"
        if self.nothing_changed:
            return f"{self.topic}: nothing new: the latest {r.kind} run (#{r.id}, {when}){status} changed no record"
        return f"{self.topic}: the latest {r.kind} run (#{r.id}, {when}){status}: {counts}"

    def count(self, change: str) -> int:
        seen = {s.pmid for c in self.claims for s, _, _ in c.studies if s.change == change}
        return len(seen | {s.pmid for s in self.untagged if s.change == change})


def build_digest(store: Store, topic: Topic) -> Digest:
    from evidence_cli.evidence.summary import claim_summaries
    from evidence_cli.store.reports import run_changed_studies
    from evidence_cli.store.runs import last_run

    run = last_run(store, topic.id)
    if run is None:
        return Digest(topic.id, topic.title, None, (), (), ())
    changed = run_changed_studies(store, topic.id, run.id)
    deleted = tuple(s.pmid for s in changed if s.change == "deleted")
    live = sorted((s for s in changed if s.change != "deleted"), key=lambda s: (s.change != "added", s.pmid))
    per_claim: dict[str, list[tuple[ChangedStudy, str, str]]] = {}
    for study in live:
        for claim_id, stance, evidence in study.claims:
            per_claim.setdefault(claim_id, []).append((study, stance, evidence))
    touched = [c for c in topic.claims if c.id in per_claim]
    verdicts = claim_summaries(store, topic, [c.id for c in touched], with_pmids=False) if touched else {}
    claims = tuple(ClaimChanges(c.id, c.label, verdicts[c.id].verdict, tuple(per_claim[c.id])) for c in touched)
    known = {c.id for c in topic.claims}
    untagged = tuple(s for s in live if not any(cid in known for cid, _, _ in s.claims))
    return Digest(topic.id, topic.title, run, claims, untagged, deleted)
