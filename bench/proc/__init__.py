"""Child processes the harness starts (the --rtt proxy, a uvicorn service): their
environment, their captured output, how they ended, and stopping their process group.
At the bottom with bench.db and bench.results: it imports nothing else of bench."""
