"""Study design and subjects: PubMed publication types and MeSH first, then the abstract's words.

Records from JSON Lines often carry no publication types, so the text rules must decide alone.
The text rules read the title and the study's own sentences (never calls for future trials,
never the background of a primary study), so "randomised trials are needed" is not an RCT.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evidence_cli.tagging.cues import _rx
from evidence_cli.tagging.prefilter import Presence, has
from evidence_cli.tagging.sample_size import COUNT as PARTICIPANT_COUNT

REVIEW_DESIGNS = frozenset({"meta-analysis", "systematic-review", "narrative-review"})

# Publication types that settle the design on their own, most specific first.
_DECISIVE_TYPES = (
    ("clinical trial protocol", "protocol"),
    ("meta-analysis", "meta-analysis"), ("network meta-analysis", "meta-analysis"),
    ("systematic review", "systematic-review"), ("scoping review", "systematic-review"),
    ("randomized controlled trial", "rct"), ("equivalence trial", "rct"), ("pragmatic clinical trial", "rct"),
    ("case reports", "case-report"),
    ("observational study", "observational"), ("twin study", "observational"),
)
_TRIAL_TYPES = re.compile(r"^(?:clinical trial|controlled clinical trial|clinical trial, phase \w+|"
                          r"clinical trial, veterinary|adaptive clinical trial|multicenter study)$", re.IGNORECASE)
_REVIEW_TYPES = {"review"}
_OTHER_TYPES = {"comment", "editorial", "news", "newspaper article", "interview", "biography",
                "published erratum", "retraction of publication", "expression of concern", "guideline",
                "practice guideline", "consensus development conference"}

PROTOCOL = _rx(
    r"(?<!the )(?<!per )(?<!our )\b(?:study|trial|review) protocol\b",  # not "according to the study protocol" r"\bprotocol (?:for|of) (?:a|an|the)\b", r"\bthis protocol\b",
    r"\bwill be (?:randomi[sz]ed|recruited|enrolled|assessed|measured|conducted|allocated|included|searched)\b",
    # "In this review we will discuss ...": a review announcing its topics, not a study yet to run
    r"\bwe will\b(?! (?:\w+ )?(?:discuss|summari[sz]e|review|focus|present|describe|highlight|outline|propose|"
    r"consider|introduce|provide|address|argue|emphasi[sz]e|illustrate|cover|touch|survey|revisit)\b)",
    r"\bwill (?:recruit|enrol|enroll|randomi[sz]e|assess|compare|evaluate)\b",
)
META_TITLE = _rx(r"\bmeta-?analy", r"\bpooled analysis\b", r"\bmeta-?regression\b")
META_TEXT = _rx(
    r"\b(?:this|the present|the current|our) (?:\w+[- ]){0,3}?meta-?analy",
    r"\bwe (?:\w+ )?(?:performed|conducted|carried out|undertook|did|report|present) (?:a |an |this )?"
    r"(?:[\w-]+ ){0,4}?meta-?analy",
    r"\bthis is a (?:[\w-]+ ){0,3}?meta-?analy",
    r"\brandom[- ]effects? (?:model|meta)", r"\bstandardi[sz]ed mean differences?\b", r"\bI\s?\^?2\s*=",
    r"\bwe (?:\w+ )?pooled\b", r"\bSMDs?\b", r"\bforest plots?\b",
)
# Read on the study's own sentences only: a background cites others' pooled analyses and reviews.
META_OWN = _rx(r"\bpooled (?:analysis|estimates?|effect|odds|risk|mean)\b")
SYSTEMATIC_OWN = _rx(r"\ba (?:\w+ )?(?:systematic|scoping|umbrella) review\b", r"\bsystematic reviews\b")
SYSTEMATIC_TITLE = _rx(r"\bsystematic(?:ally)? (?:\w+ )?review", r"\bscop(?:e|ing) review", r"\bumbrella review",
                       r"\bsystematic literature", r"\bevidence map")
SYSTEMATIC_TEXT = _rx(
    r"\bPRISMA\b", r"\b(?:this|the present|our) (?:\w+ )?(?:systematic|scoping|umbrella) review\b",
    r"\bsystematic(?:ally)? (?:reviewed|searched|search)\b",
    r"\b(?:we )?search(?:ed|ing)? (?:\w+[ ,]+){0,8}?(?:PubMed|MEDLINE|EMBASE|PsycINFO|Cochrane|Web of Science|"
    r"Scopus|CINAHL|databases?)\b",
    # not a records study: "the hospital database was queried for all children ...", "medical records were retrieved"
    r"\b(?:PubMed|MEDLINE|EMBASE|PsycINFO|Cochrane|databases?)\b[^.]{0,100}?\b(?:were|was) (?:\w+ )?(?:searched|"
    r"queried|screened)\b(?! (?:\w+ ){0,2}?for (?:all )?(?:[\w-]+ )?(?:patients|children|adults|people|persons|"
    r"individuals|cases|admissions|encounters|visits|women|men|infants|users|veterans)\b)",
    r"\b(?:studies|articles|trials|publications) were (?:included|selected|identified|screened|retrieved)",
    r"(?<!medical )(?<!health )(?<!clinical )(?<!patient )(?<!hospital )(?<!electronic )(?<!case )(?<!dental )"
    r"\brecords were (?:included|selected|identified|screened|retrieved)\b(?! (?:\w+ ){0,2}?(?:for|of) (?:\d|all))",
)
REVIEW_TITLE = _rx(r"(?<!chart )(?<!record )(?<!records )(?<!retrospective )(?<!case )(?<!file )\breview\b", r"\boverview\b", r"\bperspectives?\b", r"\bupdate on\b", r"\bnarrative\b",
                   r"\bprimer\b", r"\bstate of the art\b", r"\bcurrent (?:status|evidence|concepts)\b",
                   r"\bwhat (?:we|do we) know\b",
                   r"\blessons\b(?! (?:learn[et]d? )?from (?:\d|our|an? (?:[\w-]+ )?(?:series|cohort|trial|study)))")
REVIEW_TEXT = _rx(
    r"\b(?:we|this (?:review|paper|article|chapter|manuscript|commentary))\s+(?:\w+\s+)?(?:review|discuss|"
    r"summari[sz]e|overview|outline|highlight|introduce|consider)s?\b"
    r"(?! (?:the )?(?:\w+ )?(?:records|charts|files))"
    # a study's closing "we discuss the implications of these findings"
    r"(?! (?:the |these |our |their |its )?(?:[\w-]+ )?(?:implications|limitations|significance|relevance|"
    r"consequences|findings|results|data|observations|strengths)\b)"
    r"(?! (?:the )?(?:possible|potential|likely|underlying) (?:\w+ )?mechanisms?\b)"
    # "we describe five inpatients": a case series, not a review
    r"(?! (?:\d+|two|three|four|five|six|seven|eight|nine|ten|a|an|one|our) (?:[\w-]+ )?(?:[\w-]+ )?"
    r"(?:patients|cases?|inpatients|outpatients|adults|children|women|men|individuals|participants|"
    r"experience|series))",
    # "we describe the current evidence" is a review; "we describe the outcomes of 40 adults", "here we
    # examine whether ketamine ..." are studies
    r"\b(?:we|this (?:paper|article|manuscript))\s+(?:\w+\s+)?(?:describe|examine)s?\b(?= (?:the |how |what )?"
    r"(?:[\w-]+ )?(?:literature|evidence|advances|developments|state of the art|concepts|progress|history|"
    r"controversies|challenges|perspectives|knowledge|current|recent|emerging|latest)\b)",
    r"\b(?:this|the present|our) (?:\w+ )?(?:review|mini-?review|overview)\b",
    r"\bnarrative review\b", r"\breview (?:of|on) (?:the )?(?:\w+ )?(?:literature|evidence)\b",
)
# Read on the study's own sentences only: a primary study's background cites earlier work too.
REVIEW_OWN = _rx(
    r"\b(?:recent|previous|published|emerging|growing) (?:\w+ )?(?:studies|evidence|literature|trials) "
    r"(?:\w+ )?(?:indicate|suggest|show|have shown|demonstrate)",
)
SPECIES = _rx(
    r"\b(?:rats?|mice|mouse|murine|rodents?|primates?|monkeys?|macaques?|zebrafish|piglets?|rabbits?|"
    r"Wistar|Sprague[- ]Dawley|C57BL\w*)\b",
    # Veterinary and laboratory species. Left out as too often about people: calves, canine
    # (teeth), bovine/porcine (grafts, serum), equine (therapy), rhesus (blood group), "cow's milk",
    # "goat anti-" antibodies; CAT (scan), FISH (hybridization) only when written in lower case.
    r"\b(?:dogs?|beagles?|greyhounds?|(?-i:[Cc]ats?)|felines?|kittens?|pigs?|swine|sheep|ewes?|lambs?|"
    r"goats|horses|ponies|foals?|cattle|cows|heifers?|hamsters?|gerbils?|ferrets?|chicks?|chickens|hens|"
    r"pigeons?|quails?|birds?|frogs?|toads?|tadpoles?|Xenopus|salamanders?|axolotls?|(?-i:[Ff]ish)(?:es)?|"
    r"teleosts?|Drosophila|fruit ?fl(?:y|ies)|Caenorhabditis|C\. elegans|nematodes?|insects?|larvae|"
    r"baboons?|marmosets?|chimpanzees?|Macaca|cynomolgus|voles?|squirrels?)\b(?! oil)(?!-)",
)
ANIMAL = _rx(
    SPECIES.pattern, r"\b(?:knock-?out|wild[- ]type|transgenic)\b",
    r"\bin vitro\b", r"\bcell (?:line|culture)s?\b", r"\b(?:tissue|organ|monolayer) cultures?\b", r"\bin cultures?\b",
    r"\bcultured (?:\w+ )?(?:neurons|cells|astrocytes)\b",
    r"\b(?:brain|hippocampal|cortical|acute) slices?\b", r"\borganotypic\b",
    r"\b(?:depressive|depression|anxiety|anhedonia)[- ](?:like|related) behavio", r"\bforced[- ]swim\w*",
    r"\btail[- ]suspension\b", r"\bsucrose preference\b", r"\bescape behavio", r"\bbehavioral despair\b",
    r"\bsocial defeat\b", r"\bchronic (?:unpredictable|mild|restraint|variable) stress\b", r"\bi\.p\.",
    r"\bintraperitoneal\w*", r"\boptogenetic\w*", r"\bphotostimulation\b",
    r"\bin vivo\b", r"\b(?:burst|neuronal|spontaneous) firing\b", r"\bpatch[- ]clamp\w*", r"\belectrophysiolog\w*",
    r"\bsingle (?:systemic |i\.p\. )?injection\b",
    r"\b(?:iPSCs?|induced pluripotent|stem[- ]cell[- ]derived|organoids?|neurite outgrowth|primary (?:\w+ )?(?:neurons|cultures?))\b",
    r"\banimals?\b",
)
HUMAN = _rx(
    r"\b(?:patients?|participants?|volunteers?|out-?patients?|in-?patients?|adults|adolescents|children|"
    r"women|men|individuals|people|persons|humans?|veterans|parturients|respondents|clinicians|users|babies|"
    r"toddlers|girls|boys|students|nurses|physicians|surgeons|athletes|caregivers|survivors|smokers)\b"
    # "human iPSC-derived neurons" are cells, not people
    r"(?<!human)(?<!humans)|\bhumans?\b(?! (?:induced|iPSCs?|cells?|neurons?|stem|embryonic|cortical|brain tissue|post-?mortem|organoids?))",
    r"\bsubjects (?:with|who)\b", r"\bclinical (?:trials?|studies|sample)\b", r"\bcase (?:reports?|series)\b",
)
# People in a clinical study, young animals in an animal one ("rhesus infants", "lactating mothers").
YOUNG = _rx(r"\b(?:infants|neonates|newborns|mothers)\b")
# The record's own patients, counted: a case series even when it also reviews the literature.
CASE_SERIES_OWN = _rx(
    r"\b(?:we|the authors) (?:\w+ )?(?:describe|report|present) (?:\d+|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve) (?:[\w-]+ )?(?:patients|cases|inpatients|outpatients|adults|women|men|children|adolescents)\b")
CASE_SERIES = _rx(r"\bcase series\b", r"\bseries of (?:\w+ )?(?:cases|patients)\b", CASE_SERIES_OWN.pattern)
_AGE = (r"(?:\d+|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ]?(?:one|two|three|four|five|six|"
        r"seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
        r"fifteen|sixteen|seventeen|eighteen|nineteen)[- ](?:year|month|week|day)s?[- ]old")
# A record saying it reports its own patient: a case report even when it also reviews the literature.
CASE_OWN = _rx(
    r"\bcase report\b", r"\bcase presentation\b",
    r"\b(?:we|the authors) (?:\w+ )?(?:report|present|describe) (?:a|an|the|one|our) (?:[\w-]+ ){0,4}?(?:case|patient|man|woman|girl|"
    r"boy|female|male|mother|father|infant|newborn|neonate|child|adolescent|teenager)\b",
    rf"\b(?:a|an) (?:[\w-]+ ){{0,2}}?{_AGE}\b", r"\bin this case,? we\b", r"\bthe (?:presented|present|reported|current|index) case\b",
    r"\b(?:a|the|this|one) case (?:is|was) (?:here )?(?:presented|reported|described)\b",
    r"\b(?:a|an|one|the) (?:[\w-]+ ){0,2}?(?:patient|man|woman|girl|boy|infant|newborn|neonate|child) (?:is|was) "
    r"(?:here )?(?:presented|reported|described)\b",
    r"\b(?:this is|is|represents|we (?:\w+ )?(?:report|present|describe)) the first (?:[\w-]+ ){0,2}?case\b",
)
# With CASE_OWN (asked first, its answer kept), the cues of a case report.
CASE_REPORT = _rx(
    # "a rare case of", not "in the case of" (as for)
    r"\b(?:a|an) (?:[\w-]+ )?case of\b", r"(?<!\bin )(?<!\bas )\bthe (?:[\w-]+ )?case of\b", r"\bthis case\b",
    # a case history that opens on its patient: "A girl with ...", "A patient with ... was admitted"
    r"(?:^|\n)\W*(?:a|an) (?:[\w-]+ ){0,2}?(?:man|woman|girl|boy|infant|newborn|neonate|patient|child|gentleman|"
    r"lady) (?:with|who|presented|presenting|was (?:admitted|referred|seen|brought|found|diagnosed))\b",
    # "A woman in her forties ..."; titles such as "... in a patient treated for depression"
    r"\b(?:a|an) (?:[\w-]+ )?(?:man|woman|girl|boy|patient) in (?:his|her|their) (?:late |early |mid-?)?"
    r"(?:teens|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties|\d0s)\b",
    r"^[^\n]*\b(?:in|of) an? (?:\d+[- ]year[- ]old )?(?:[\w-]+ )?(?:patient|man|woman|girl|boy|child|adolescent)\b(?![^\n]*\b(?:trial|study|cohort|series|patients)\b)",
)
RCT = _rx(
    r"(?<!mendelian )\brandomi[sz](?:ed|ation|ing)\b",  # Mendelian randomization is genetic epidemiology
    r"\b(?:assigned|allocated|randomly assigned) (?:\w+ )?(?:in )?(?:an? )?\d:\d\b", r"\bin an? \d:\d ratio\b", r"\bin (?:a )?random order\b", r"\brandomly (?:assigned|allocated|divided|distributed)\b",
    r"\b(?:allocated|assigned) (?:\w+ )?(?:at )?random(?:ly)?\b", r"\bdouble[- ]blind\w*", r"\btriple[- ]blind\w*",
    r"\bplacebo[- ]controlled\b", r"\bsham[- ]controlled\b",
    # a crossover design, not genetic "crossovers" nor an observational case-crossover study
    r"(?<!case-)(?<!case )\bcross-?over (?:[\w-]+ ){0,2}?(?:design|trials?|trail|study|studies|fashion|manner|"
    r"comparison|technique|procedure|experiment|test|research|placebo|periods?|phases?|sessions?)\b",
    r"\b(?:placebo|saline|sham) (?:infusions?|group|arm|condition)\b", r"\bRCT\b",
)
OBSERVATIONAL = _rx(
    r"\bretrospective\w*", r"\bcohort\b", r"\bcase[- ](?:control|cross-?over)\b", r"\bcross[- ]sectional\b",
    r"\bchart review\b",
    r"\b(?:medical|health|electronic) records\b", r"\bregistr(?:y|ies)\b", r"\bdatabases?\b", r"\bclaims data\b",
    r"\bpharmacovigilance\b", r"\bdisproportionality\b", r"\badverse event reporting\b", r"\bFAERS\b",
    r"\bVigiBase\b", r"\bsurvey\w*\b", r"\bnaturalistic\b", r"\breal[- ]world\b", r"\bcase series\b",
    r"\bobservational\b", r"\bpopulation[- ]based\b", r"\bpost[- ]?marketing\b",
    r"\bprevalence\b", r"\bincidence of\b(?=.*\b(?:users|population)\b)",
    # data gathered by others, people compared as they were, and what they say about themselves
    r"\bmendelian randomi[sz]ation\b", r"\bpropensity\b", r"\bmatched (?:\w+ )?(?:controls|cohorts?|comparators?)\b",
    r"\bnation(?:wide|al) (?:\w+ )?(?:cohort|sample|study|data|register|database)", r"\b(?:using|used) data from\b",
    r"\breviewed (?:\w+ ){0,4}?(?:patients|cases|records|charts|files|notes)\b",
    r"\bqualitative (?:\w+ )?(?:study|studies|research|analysis|design|approach|methods?|interviews?|data)\b", r"\b(?:semi-?structured |in-?depth )?interviews\b", r"\bfocus groups?\b",
    r"\bthematic analysis\b",
)
NON_RANDOMIZED_STRONG = _rx(
    r"\bopen[- ]label\b", r"\bsingle[- ]arm\b", r"\buncontrolled (?:\w+ )?(?:trial|study)\b", r"\bnon-?randomi[sz]ed\b",
    r"\bproof[- ]of[- ]concept\b", r"\bphase (?:I|II|1|2|1b|2a|IIa|Ib)\b", r"\bsingle[- ]group\b",
)
NON_RANDOMIZED = _rx(
    r"\buncontrolled\b", r"\bpilot (?:study|trial)\b", r"\bfeasibility (?:study|trial)\b", r"\bopen (?:study|trial)\b",
    r"\bprospective (?:\w+ )?(?:study|trial)\b", r"\bclinical trial\b", r"\bpre-?post\b",
)
INTERVENTION = _rx(r"\breceiv\w*\b", r"\b(?:were|was) (?:\w+ )?(?:treated|administered|given|infused)\b",
                   r"\b(?:underwent|completed) (?:\w+ )?(?:infusions?|treatment|sessions)\b")
OTHER = _rx(r"\bcost[- ]effective\w*", r"\beconomic (?:evaluation|analysis|model)", r"\bmarkov\b", r"\bQALYs?\b",
            r"\bbudget impact\b", r"\bcommentary\b", r"\beditorial\b", r"\bletter to the editor\b")
# Something was done or found: a study's voice, not an essay's.
STUDIED = _rx(r"\b(?:were|was) (?:\w+ )?(?:treated|injected|exposed|given|fed|housed|an(?:a)?esthetized|trained|"
              r"infected|immunized|inoculated|implanted|killed|sacrificed|recorded|measured|examined|studied|"
              r"observed|tested|compared|determined|investigated|assessed)\b",
              r"\bwe (?:\w+ )?(?:found|show|showed|observed|measured|examined|investigated|tested|used|identified|"
              r"demonstrate|demonstrated|studied|compared|assessed|reveal|revealed|characteri[sz]ed|analy[sz]ed|"
              r"generated|isolated|purified|cloned|sequenced)\b")
RESULTS_LIKE = _rx(r"\bp\s*[<=>]", r"\bsignifican\w*", r"\d\s*%", r"\b95\s*% ?CI\b")


def classify_record(
    title: str,
    own_sentences: Sequence[str],
    all_sentences: Sequence[str],
    publication_types: Sequence[str] = (),
    mesh: Sequence[str] = (),
    *,
    present: tuple[Presence, Presence, Presence] | None = None,
) -> tuple[str, bool | None, bool]:
    """(design, humans, animals) of one record: design one of tagging.model.DESIGNS; humans None
    when the record cannot tell.

    `own_sentences` are the title's and the study's own sentences (normalized text, future-work
    sentences and a primary study's background left out); `all_sentences` every sentence.
    `present`: the regex literals (see `prefilter`) of the title, of the title with the own
    sentences and of the title with all sentences, to skip patterns that cannot match. Design
    and subjects ask some of the same questions of the same text: each is asked once.
    """
    in_title, in_own, in_every = present if present is not None else (None, None, None)
    own = _Text("\n".join([title, *own_sentences]), in_own)
    design = _design(_Text(title, in_title), own, _Text("\n".join([title, *all_sentences]), in_every),
                     publication_types, mesh)
    return (design, *_subjects(design, own, mesh))


class _Text:
    """A text and its literals; each pattern's answer found once, most without a search."""

    __slots__ = ("answers", "gates", "mask", "present", "text")

    def __init__(self, text: str, present: Presence | None) -> None:
        self.text = text
        self.present = present
        self.answers: dict[int, bool] = {}
        # The common answer, no: a literal the pattern needs is not in the text (see `prefilter`).
        self.gates = present.scanner.gates if present is not None else {}
        self.mask = present.mask if present is not None else 0

    def has(self, pattern: re.Pattern[str]) -> bool:
        key = id(pattern)
        gate = self.gates.get(key)
        if gate is not None and gate.required is not None and not gate.required & self.mask:
            return False
        answer = self.answers.get(key)
        if answer is None:
            answer = self.answers[key] = has(pattern, self.text, self.present)
        return answer


def _design(title: _Text, own: _Text, every: _Text, publication_types: Sequence[str], mesh: Sequence[str]) -> str:
    types = {t.strip().lower() for t in publication_types}
    for name, design in _DECISIVE_TYPES:
        if name in types:
            return design
    if own.has(PROTOCOL):
        return "protocol"
    if title.has(META_TITLE) or every.has(META_TEXT) or own.has(META_OWN):
        return "meta-analysis"
    if title.has(SYSTEMATIC_TITLE) or every.has(SYSTEMATIC_TEXT) or own.has(SYSTEMATIC_OWN):
        return "systematic-review"
    mesh_lower = {m.lower() for m in mesh}
    # "A case report and review of the literature": the patients are the study, the review its discussion
    if not _is_animal_study(own, mesh_lower):
        if own.has(CASE_SERIES_OWN):
            return "observational"
        if own.has(CASE_OWN) and not own.has(CASE_SERIES):
            return "case-report"
    if types & _REVIEW_TYPES or title.has(REVIEW_TITLE) or every.has(REVIEW_TEXT) or own.has(REVIEW_OWN):
        return "narrative-review"
    if "animals" in mesh_lower and "humans" not in mesh_lower:
        return "preclinical"
    if _is_animal_study(own, mesh_lower):
        return "preclinical"
    if not _names_people(own) and not own.has(ANIMAL) and _is_animal_study(every, mesh_lower):
        return "preclinical"  # the study's own sentences name no subjects; its background does
    if own.has(CASE_SERIES):
        return "observational"
    if own.has(CASE_OWN) or own.has(CASE_REPORT):
        return "case-report"
    if own.has(RCT):
        return "rct"
    if any(_TRIAL_TYPES.match(t) for t in types) or own.has(NON_RANDOMIZED_STRONG):
        return "non-randomized-trial"
    if own.has(OBSERVATIONAL):
        return "observational"
    if own.has(NON_RANDOMIZED):
        return "non-randomized-trial"
    if every.has(OTHER) or types & _OTHER_TYPES:  # "in this commentary we argue ... are needed": a future-work sentence
        return "other"
    if own.has(SPECIES) and (own.has(RESULTS_LIKE) or own.has(STUDIED)):
        return "preclinical"  # animals studied and no human design named: the patients it names are context
    if _names_people(own) and own.has(INTERVENTION):
        return "non-randomized-trial"
    if own.has(PARTICIPANT_COUNT):
        return "observational"  # people were studied, and nothing says they were assigned a treatment
    if not _names_people(own) and own.has(STUDIED):
        return "preclinical"  # a study of its own with no people in it: laboratory science
    if not own.has(RESULTS_LIKE) or not own.has(STUDIED):
        return "narrative-review"  # no study of its own: an essay on the literature
    return "other"


def _is_animal_study(own: _Text, mesh_lower: set[str] | frozenset[str]) -> bool:
    if "animals" in mesh_lower and "humans" not in mesh_lower:
        return True
    if "humans" in mesh_lower:
        return False
    return own.has(ANIMAL) and not _names_people(own)


def _names_people(text: _Text) -> bool:
    return text.has(HUMAN) or (text.has(YOUNG) and not text.has(SPECIES))


def _subjects(design: str, own: _Text, mesh: Sequence[str]) -> tuple[bool | None, bool]:
    """(humans, animals): MeSH check tags when present, else the text."""
    mesh_lower = {m.lower() for m in mesh}
    if mesh_lower & {"humans", "animals"}:
        return ("humans" in mesh_lower, "animals" in mesh_lower)
    animals = design == "preclinical" or (own.has(ANIMAL) and design not in REVIEW_DESIGNS)
    humans = _names_people(own)
    if design == "preclinical":
        return (False, True)
    if humans:
        return (True, animals)
    return (None, animals)
