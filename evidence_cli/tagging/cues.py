"""Generic cues of how abstracts are written: section roles, findings, null results, hedges.

None of these is about a claim or a topic; claim-specific cues live in the topic file.
All are matched on normalized text (see `text.normalize`), case-insensitively.
"""

from __future__ import annotations

import re


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


# --- where a sentence sits in an unlabelled abstract ---------------------------------------------

OBJECTIVE = _rx(
    r"\b(?:aims?|aimed|objectives?|purpose|goals?)\b(?! of (?:treatment|therapy))",
    r"\bto (?:assess|evaluate|determine|investigate|examine|compare|test|explore|establish|characteri[sz]e|"
    r"identify|estimate|clarify|summari[sz]e|synthesi[sz]e|review)\b",
    r"\bwe (?:sought|hypothesi[sz]ed|asked whether|evaluated|examined|investigated|assessed|tested|explored|"
    r"studied|compared|aimed)\b",
    r"\b(?:this|the present|the current|our) (?:study|review|paper|article|trial|analysis|work|meta-analysis|"
    r"systematic review|chapter) (?:\w+ )?(?:assess|examin|evaluat|explor|investigat|review|aim|sought|"
    r"describ|outlin|present|systematically|determin|compar|test|focus|summari|synthesi)",
    r"\bwas (?:designed|conducted|undertaken|performed) to\b",
)
# A case or case series announced as the record's own: "The case is reported of a newborn ...",
# "A patient is presented with ...", "The authors describe three patients ...". Not background.
CASE_OPENING = _rx(
    r"^\W*(?:a|an|the|one) case (?:report )?(?:of [^.]{0,150}?)?(?:is|was) (?:here )?(?:presented|reported|described)\b",
    r"^\W*(?:a|an|one|the) (?:[\w-]+ ){0,2}?(?:patient|man|woman|girl|boy|infant|newborn|neonate|child) (?:is|was) "
    r"(?:here )?(?:presented|reported|described|studied)\b",
    r"^\W*(?:a|an) case report\b",
    r"^\W*(?:a|an) (?:[\w-]+ ){0,2}?(?:man|woman|girl|boy|infant|newborn|neonate|patient|child) (?:with|who) "
    r"[^.]{0,150}?\b(?:was|presented|developed|underwent)\b",
    r"^\W*the authors (?:\w+ )?(?:present|report|describe)\w* (?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"\d+) (?:[\w-]+ ){0,3}?(?:cases?|patients?|m[ae]n|wom[ae]n|girls?|boys?|infants?|children|child|famil(?:y|ies))\b",
)
STUDY_START = _rx(
    OBJECTIVE.pattern, CASE_OPENING.pattern,
    r"\bhere,? we\b", r"\bin (?:this|the present|the current|our) (?:study|paper|review|work|article|trial|report|"
    r"chapter|analysis|meta-analysis)\b",
    r"\bwe (?:\w+ly )?(?:report|present|describe|evaluated|examined|investigated|assessed|tested|performed|"
    r"conducted|compared|studied|measured|analy[sz]ed|enrolled|recruited|review|reviewed|discuss|show|demonstrate|"
    r"found|used|explored|first|introduce|argue|identified|observed|treated|carried out|undertook|followed)\b",
    r"\bthis (?:study|paper|review|article|trial|report|chapter|case|work|scoping review|systematic review|"
    r"meta-analysis)\b",
    # "This cross-sectional observational study measured ...": the design named before the noun
    r"\b(?:this|the present|the current) (?:[\w-]+,? ){0,3}?(?:cross-sectional|observational|retrospective|"
    r"prospective|randomi[sz]ed|cohort|case-control|pilot|open-label|longitudinal|population-based|"
    r"multi-?cent(?:re|er)|placebo-controlled|double-blind|qualitative|mixed-methods),? (?:[\w-]+ ){0,2}?"
    r"(?:study|trial|analysis|survey)\b",
    r"\bthe (?:presented|present|reported|current) (?:case|study|work|report)\b",
    r"\b(?:a|an) \d+[- ]year[- ]old\b",
    # A count of people assigned or enrolled is the study's own ("179 remitters were randomized").
    r"\b\d[\d,]*\s+(?:[\w-]+\s+){0,4}?(?:were|was) (?:\w+ )?(?:randomi[sz]ed|randomly assigned|enrolled|recruited)\b",
)
# The opening of a case description: the patient's history is who was studied, not a finding.
CASE_INTRO = _rx(
    r"^\W*(?:we (?:\w+ )?(?:present|report|describe)\w* )?(?:the case of )?(?:a|an) \d+[- ]year[- ]old\b",
    CASE_OPENING.pattern,
)
CONCLUSION = _rx(
    r"^\W*(?:these|our|the present|the current) (?:\w+ )?(?:results|findings|data|observations|studies|"
    r"experiments)\b",
    r"^\W*(?:in conclusion|to conclude|taken together|overall|thus|therefore|hence|collectively|together|"
    r"in summary|consequently|altogether)\b",
    r"\b(?:this|our|the present) (?:study|work|report|review|case|trial|meta-analysis) (?:\w+ )?(?:shows|showed|"
    r"demonstrates|demonstrated|suggests|suggested|provides|indicates|highlights|confirms|supports|found)\b",
    r"\bwe conclude\b",
    r"\b(?:results|findings|data|evidence) (?:\w+ )?(?:suggest|indicate|support|provide|highlight|confirm|"
    r"demonstrate|imply|point)\b",
)
RESULT = _rx(
    r"\bp\s*[<=>\u2264\u2265]", r"\bsignifican\w*", r"\bwe (?:found|observed|show|demonstrate|identified)\b",
    r"\b(?:was|were) (?:observed|found|detected|noted|seen|reported)\b",
    r"\b(?:showed|revealed|demonstrated|resulted in|exhibited|displayed)\b",
    r"\b(?:increased|decreased|reduced|improved|elevated|attenuated|reversed|lowered|enhanced)\b",
    r"\d\s*%", r"\b95\s*% ?CI\b", r"\bodds ratio\b", r"\beffect sizes?\b", r"\brespectively\b",
)
METHOD = _rx(
    r"\b(?:was|were) (?:\w+ )?(?:randomi[sz]ed|randomly|assigned|allocated|enrolled|recruited|included|"
    r"administered|given|treated|measured|assessed|evaluated|rated|collected|performed|conducted|searched|"
    r"queried|extracted|used|divided|followed|calculated|selected|screened|obtained|recorded|analy[sz]ed|pooled|"
    r"identified)\b",
    r"\breceived\b", r"\bprimary (?:outcome|end ?point)\b", r"\bsecondary (?:outcomes?|end ?points?)\b",
    r"\bwe (?:used|searched|conducted|performed|recruited|enrolled|analy[sz]ed|measured|extracted)\b",
    r"\b(?:trial registration|registered|clinicaltrials\.gov)\b",
)
# Future work and calls for research: never a finding, never a claim.
FUTURE = _rx(
    r"\b(?:is|are|remains?|will be|would be) (?:\w+ )?(?:needed|required|warranted|necessary)\b",
    r"\bneeds? to be\b", r"\b(?:future|further|more|additional|larger) (?:\w+ ){0,3}?(?:research|studies|"
    r"investigations?|trials|work|experiments|exploration)\b",
    r"\bshould be (?:further )?(?:investigated|explored|examined|confirmed|studied|evaluated|tested)\b",
    r"\bwarrants? (?:further|additional)\b", r"\bneed (?:for|to) (?:\w+ )?(?:further|more|additional|larger)\b",
    r"\bthe need (?:for|to)\b", r"\bremains? to be (?:determined|established|elucidated|seen)\b",
)

# A sentence that refers back to the finding before it ("The improvement persisted ...",
# "By day 14 the difference was no longer significant"): it inherits that sentence's outcome.
ANAPHORA = _rx(
    r"\b(?:the|this|these|that|such|its|their) (?:\w+ )?(?:improvements?|effects?|differences?|response|benefits?|"
    r"reductions?|changes?|remission|gains?)\b",
    r"\b(?:it|they|this|these)\b (?:\w+ )?(?:was|were|is|are|persisted|remained|lasted|waned|faded)\b",
)

# --- what a finding says --------------------------------------------------------------------------

# A null or negative result ("no significant difference", "did not differ", "failed to").
NULL = _rx(
    r"\bno (?:(?!adverse|side|serious|unwanted|undesirable|toxic|psychotomimetic|dissociative|harmful)\w+ ){0,2}?"
    r"(?:significant|statistically significant|meaningful|clinically (?:significant|"
    r"meaningful|relevant)|further|additional|sustained|lasting|appreciable|measurable|detectable|discernible)?\s*"
    r"(?:differences?|effects?|changes?|improvements?|benefits?|reductions?|associations?|advantages?|"
    r"superiority|response|impact|evidence of (?:efficacy|benefit|effect))\b",
    r"\b(?:did|does|do|was|were|is|are|could|did not|has|have) not (?:\w+ )?(?:significantly |statistically )?"
    r"(?:differ|improve|reduce|decrease|change|affect|alter|enhance|reach|show|produce|sustain|persist|last|"
    r"separate|remain|prevent|lower|increase|influence|modify|outperform|predict|maintain|result|lead|yield|"
    r"demonstrate|confer|translate)\w*",
    r"\bnot (?:\w+ )?(?:statistically )?significant(?:ly)?\b", r"\bnon-?significant\w*",
    # "failed to respond to two antidepressants" defines treatment resistance; it is not a null result
    r"\bfail(?:ed|s|ing)? to\b(?!\s+(?:respond|benefit|improve|remit)\w*\s+(?:adequately\s+)?(?:to|from|with)\s+"
    r"(?:at least|two|three|2|3|\u2265|>=|multiple|several|prior|previous|conventional|standard|first-line|adequate|"
    r"one or more|antidepressants?|monoaminergic|SSRIs?|medications?|treatments?|oral))",
    r"\bno longer (?:significant|present|evident|observed|detectable|different|superior|effective|apparent|seen)\b",
    r"\breturned to baseline\b",
    r"\b(?:was|were|is|are) not (?:sustained|maintained|persistent|durable|superior|effective|efficacious)\b",
    r"\bnot (?:persistent|sustained|durable|maintained)\b",
    r"\b(?:did not|does not|do not) (?:statistically )?differ\b", r"(?<!non-)(?<!non)\binferior to\b",
    r"^\W*(?:but )?not\b(?! only)", r"\bbut not\b", r"\b(?:lack|absence) of (?:\w+ )?(?:efficacy|effect|benefit|response)\b",
    r"\bineffective\b", r"\bwithout (?:any )?(?:significant )?(?:benefit|effect|improvement)\b",
    r"\b(?:waned|wanes|waning|faded|dissipated|diminished over time|wore off)\b",
    r"\b(?:do|does|did) not support\b", r"\bno longer differ\w*",
    r"\b(?:was|were|is|are) not (?:\w+ )?associated with (?:a |an |any )?(?:\w+ )?(?:change|difference|reduction|improvement|increase|decrease|benefit)",
    r"\b(?:comparable|similar) (?:\w+ )?(?:between|to|in both|across)\b(?! baseline)",
    r"\bno better than\b", r"\bnegative (?:studies|trials|results|findings)\b",
)
# A result about the comparison arm alone ("no associations were found for patients receiving placebo").
COMPARATOR_ONLY = _rx(
    r"\b(?:receiving|given|in the|with|on|for the|after|following) (?:\w+ )?(?:placebo|saline|sham|midazolam|"
    r"control|comparator|active control)(?: group| arm| infusion| condition)?\b(?! (?:and|or|vs\.?|versus) )",
)
# A clause stating a finding outright, even next to a hedge word ("our discovery that ...").
FINDING = _rx(
    r"\b(?:we|our (?:\w+ )?(?:data|results|study|work|findings)) (?:\w+ )?(?:show|showed|shown|demonstrate|"
    r"demonstrated|found|find|reveal|revealed|report|identified|establish)",
    r"\b(?:discovery|finding|observation|demonstration) that\b", r"\b(?:show|shows|showed|shown|demonstrates?|demonstrated|reveals?|revealed|"
    r"indicates?|indicated|confirms?|confirmed|established) that\b",
    r"\b(?:studies|trials|evidence|data) (?:\w+ )?(?:indicate|show|demonstrate|confirm|disclosed)\b",
)
# Hedges and descriptions: outside results and conclusions they make a mention neutral.
HEDGE = _rx(
    r"\b(?:may|might|could|possibl[ey]|putative(?:ly)?|presumabl[ey]|hypothes\w+|propos\w+|speculat\w+|"
    r"whether|unclear|unknown|elusive|debated|controvers\w+|perhaps|theor\w+|"
    r"under (?:development|investigation|study))\b",
    r"\b(?:we|this (?:review|paper|article|chapter)) (?:\w+ )?(?:review|discuss|describe|summari[sz]e|outline|"
    r"introduce|examine|explore|consider|highlight|focus)",
    r"\b(?:are|is|were) (?:\w+ )?(?:discussed|reviewed|described|summari[sz]ed|examined|explored|outlined)\b",
    r"\binsights? into\b", r"\bmechanisms? (?:of|underlying|behind|for)\b", r"\bunderstand\w*\b",
    r"\bframework\b", r"\brole of\b", r"\bgiven the\b",
)
# The claim as the object of study, not a result ("insights into the mechanisms of the sustained effect").
DESCRIPTIVE = _rx(r"\binsights? into\b", r"\bmechanisms? (?:of|underlying|behind|for)\b",
                  r"\bunderstand\w* (?:of |how )?", r"\bframework for\b")
# Doubt about the evidence: weighs against a positive reading of the same claim.
UNCERTAIN = _rx(
    r"\b(?:remains?|is|are|still) (?:\w+ )?(?:unclear|uncertain|lacking|limited|inconclusive|controversial|"
    r"unknown|equivocal|mixed|debated|unestablished)\b",
    r"\bconflicting\b", r"\bmixed (?:results|findings|evidence)\b", r"\binconsistent\b",
    r"\b(?:lack|paucity|scarcity) of (?:\w+ )?(?:evidence|data|studies)\b", r"\binsufficient (?:evidence|data)\b",
    r"\binconclusive\b", r"\bevidence (?:is|was|remains) (?:\w+ )?(?:weak|limited|sparse|lacking)\b",
    r"\btoo (?:sparse|few|limited|scarce|heterogeneous|small) (?:for|to)\b",
)
# Words of an effect or an outcome: a statement outside the results without any of them
# ("suicidal ideation is common in adolescents") describes the field, it finds nothing.
EFFECT = _rx(
    r"\b(?:effect\w*|efficac\w*|improv\w*|reduc\w*|reliev\w*|allevia\w*|benefi\w*|respon\w*|remission|remit\w*|"
    r"produc\w*|induc\w*|act(?:s|ed|ing|ion|ions)?|work\w*|promis\w*|superior|outperform\w*|decreas\w*|increas\w*|"
    r"lower\w*|enhanc\w*|restor\w*|revers\w*|rescu\w*|prevent\w*|protect\w*|relapse\w*|sustain\w*|last\w*|"
    r"persist\w*|mediat\w*|requir\w*|depend\w*|block\w*|antagon\w*|rapid\w*|fast|quick\w*|durable|maintain\w*)\b",
)
# An association or prediction, not an effect of the treatment.
ASSOCIATION = _rx(r"\bcorrelat\w*", r"\bassociation (?:between|of|with)\b",
                  r"\b(?:positively|negatively|inversely|highly|significantly) (?:\w+ )?associated with\b", r"\bpredict\w*", r"\bbiomarkers?\b",
                  r"\bmoderat(?:or|ing|ed by)\b")
