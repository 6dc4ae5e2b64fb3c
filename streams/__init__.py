"""The Faust stream worker: validate readings, score them, reject bad input to the dead-letter topic."""
