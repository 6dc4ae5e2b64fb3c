from fleetpulse.cli import main

main()
