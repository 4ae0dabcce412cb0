NAME          base
ROWS
 N  obj
 L  c1
 G  c2
COLUMNS
    x  obj  1.0  c1  1.0
    y  obj  2.0  c2  1.0
    x  c2  5.0
RHS
    rhs  c1  4.0  c2  1.0
BOUNDS
 UP bnd  x  3.0
ENDATA
