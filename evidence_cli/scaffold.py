"""`evidence init [DIR]`: a new workspace with queries/ (an example topic) and cache/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evidence_cli.errors import UsageError

EXAMPLE_TOPIC = "ketamine-depression"
# The repository's shipped topic, when evidence runs from a checkout or an editable install.
SHIPPED = Path(__file__).resolve().parent.parent / "queries" / f"{EXAMPLE_TOPIC}.toml"

# Used only where the shipped file is not on disk (an installed wheel).
FALLBACK_TOPIC = '''# An example topic. `query` is a PubMed search string: test it on the PubMed site first.
# Each claim needs `patterns`: regular expressions that name the claim in a sentence.
title = "Ketamine for depression"
query = \'\'\'(ketamine[tiab] OR esketamine[tiab] OR "Ketamine"[MeSH Terms]) AND (depress*[tiab] OR suicid*[tiab])\'\'\'
# A record bears on the claims only if it names the subject (title, abstract, MeSH, keywords).
subject = ['ketamine']

[claims.rapid_onset]
label = "Rapid onset"
statement = "Ketamine relieves depressive symptoms or suicidal ideation within hours to about a week of a dose."
patterns = ['\\b(?:rapid|fast|quick)[- ]?(?:acting|onset)\\b', '\\brapid(?:ly)? (?:\\w+ ){0,2}antidepressant']

[claims.trd]
label = "Treatment-resistant depression"
statement = "Ketamine is effective in treatment-resistant depression."
patterns = ['\\btreatment[- ]resistant depression\\b', '\\bTRD\\b']
'''

GITIGNORE = "# the local cache: rebuilt by `evidence refresh`\ncache/\n"


@dataclass(frozen=True)
class InitResult:
    root: Path
    created: tuple[Path, ...]

    def summary(self) -> str:
        made = ", ".join(str(p.relative_to(self.root)) for p in self.created if p != self.root) or "nothing new"
        return (f"workspace ready at {self.root.resolve()} (created: {made}); "
                f"next: edit queries/{EXAMPLE_TOPIC}.toml, then `evidence refresh`")


def init_workspace(root: Path) -> InitResult:
    """Make `root` a workspace. Never overwrites: an existing example topic file is an error."""
    topic_file = root / "queries" / f"{EXAMPLE_TOPIC}.toml"
    if topic_file.exists():
        raise UsageError(f"{topic_file} already exists: not overwritten (this folder is already a workspace)")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a folder")
    text = SHIPPED.read_text(encoding="utf-8") if SHIPPED.is_file() else FALLBACK_TOPIC
    created = []
    try:
        for folder in (root, root / "queries", root / "cache"):
            if not folder.is_dir():
                folder.mkdir(parents=True)
                created.append(folder)
        with open(topic_file, "x", encoding="utf-8") as handle:  # "x": never clobber, even in a race
            handle.write(text)
        created.append(topic_file)
        ignore = root / ".gitignore"
        if not ignore.exists():
            ignore.write_text(GITIGNORE, encoding="utf-8")
            created.append(ignore)
    except FileExistsError:
        raise UsageError(f"{topic_file} already exists: not overwritten") from None
    except OSError as exc:
        raise UsageError(f"cannot create the workspace at {root}: {exc.strerror}") from None
    return InitResult(root, tuple(created))
