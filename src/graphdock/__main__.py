from graphdock.cli import main

main()
