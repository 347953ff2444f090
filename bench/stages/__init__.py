"""One module per benchmark stage; each has `run(servers, runs, progress) -> list[Record]`."""
