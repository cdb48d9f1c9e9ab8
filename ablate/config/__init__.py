"""The config, before any job runs: the trainer's schema, its registration with Hydra, validation with errors that
name the key and the fix, job folder names and sweep folders."""
