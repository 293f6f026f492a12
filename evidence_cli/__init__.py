"""evidence: saved PubMed queries, a local cache, and claim-by-claim evidence tables."""
