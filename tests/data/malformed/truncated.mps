NAME          base
ROWS
 N  obj
 L  c1
 G  c2
COLUMNS
    x  obj  1.0  c1  1.0
