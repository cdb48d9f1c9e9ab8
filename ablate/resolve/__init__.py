"""`python -m ablate.resolve`: resolve a sweep's comparisons with the fewest runs (design.py: the
group-sequential boundaries; looks.py: one look and the next round's plan; sweep.py: reading and extending the
sweep; state.py: resolve.json, the looks so far; cli.py: the loop)."""
