"""The run record and everything that reads or writes it: its files (results.json, history.csv, predictions.npz),
atomic writes, a run's identity, its provenance, and reading a whole sweep folder. The runtime (job, status,
end-of-sweep) and the report both stand on this package; it imports neither of them."""
