"""Reports: pure functions from tables to tables and figures (the top layer).

`stats` (correlations, top-K agreement, bootstrap), `groups` (arch sets: all, isomorphism
representatives, same-#Param classes and the Revisit groups), `search` (offline random-search
simulations), `tenas` (TE-NAS whole-space analyses), `results` (sweep tables → scores per arch),
`claims` (the ledger definitions), `reproduce` (computes the ledger), `render` and `plots` (Markdown,
HTML, PNG). Imports only from benchmarks/, proxies/ and spaces/.
"""
