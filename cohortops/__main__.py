from cohortops.cli import main

main()
