"""The command line (``directory``): a front door for people at a terminal.

Installed as ``directory_cli`` (the folder is ``cli/``); the console script is
``directory_cli.main:main``. It is the outermost layer: besides calling the directory it
starts the assembled app (``directory serve``, ``directory_app``), runs the benchmark
(``directory bench``, ``directory_bench``) and prints the GraphQL schema
(``directory schema``); nothing imports it (docs/decisions.md, "Layers").
"""
