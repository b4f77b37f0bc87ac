from fundradar.cli import main

main()
