from recipec.cli import main

main()
