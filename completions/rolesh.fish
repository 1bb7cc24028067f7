complete --keep-order --exclusive --command rolesh --arguments "(ROLESH_COMPLETE=fish rolesh -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
