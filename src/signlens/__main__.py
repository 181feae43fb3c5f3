from signlens.cli.main import main

main()
