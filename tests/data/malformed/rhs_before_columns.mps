NAME x
ROWS
 N obj
RHS
    rhs  obj  1.0
ENDATA
