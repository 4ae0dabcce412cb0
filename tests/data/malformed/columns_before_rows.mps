NAME bad
COLUMNS
    x  obj  1.0
ENDATA
