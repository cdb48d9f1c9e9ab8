from ablate.bench.pipeline import main

main()
