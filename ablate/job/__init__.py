"""One job: skip it if its record is complete, place it (GPU lease, CPU threads), resume from its checkpoint,
train on the core, write the record; progress lines while it runs."""
