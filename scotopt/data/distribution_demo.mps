NAME        distribution_demo
ROWS
 N  Obj     
 L  plant_cap_P0
 L  plant_cap_P1
 E  flow_balance_D0
 L  dc_throughput_D0
 E  flow_balance_D1
 L  dc_throughput_D1
 E  flow_balance_D2
 L  dc_throughput_D2
 G  demand_S0
 G  demand_S1
 G  demand_S2
 G  demand_S3
 G  demand_S4
 G  demand_S5
COLUMNS
    ship_P0_D0  Obj       7.7599999999999998
    ship_P0_D0  plant_cap_P0  1
    ship_P0_D0  flow_balance_D0  1
    ship_P0_D1  Obj       2.4300000000000002
    ship_P0_D1  plant_cap_P0  1
    ship_P0_D1  flow_balance_D1  1
    ship_P0_D2  Obj       0.69999999999999996
    ship_P0_D2  plant_cap_P0  1
    ship_P0_D2  flow_balance_D2  1
    ship_P1_D0  Obj       7.9400000000000004
    ship_P1_D0  plant_cap_P1  1
    ship_P1_D0  flow_balance_D0  1
    ship_P1_D1  Obj       5.0300000000000002
    ship_P1_D1  plant_cap_P1  1
    ship_P1_D1  flow_balance_D1  1
    ship_P1_D2  Obj       6.4500000000000002
    ship_P1_D2  plant_cap_P1  1
    ship_P1_D2  flow_balance_D2  1
    ship_D0_S0  Obj       4.7699999999999996
    ship_D0_S0  flow_balance_D0  -1
    ship_D0_S0  dc_throughput_D0  1
    ship_D0_S0  demand_S0  1
    ship_D0_S1  Obj       3.3300000000000001
    ship_D0_S1  flow_balance_D0  -1
    ship_D0_S1  dc_throughput_D0  1
    ship_D0_S1  demand_S1  1
    ship_D0_S2  Obj       1.77
    ship_D0_S2  flow_balance_D0  -1
    ship_D0_S2  dc_throughput_D0  1
    ship_D0_S2  demand_S2  1
    ship_D0_S3  Obj       6.0499999999999998
    ship_D0_S3  flow_balance_D0  -1
    ship_D0_S3  dc_throughput_D0  1
    ship_D0_S3  demand_S3  1
    ship_D0_S4  Obj       6.8600000000000003
    ship_D0_S4  flow_balance_D0  -1
    ship_D0_S4  dc_throughput_D0  1
    ship_D0_S4  demand_S4  1
    ship_D0_S5  Obj       10.880000000000001
    ship_D0_S5  flow_balance_D0  -1
    ship_D0_S5  dc_throughput_D0  1
    ship_D0_S5  demand_S5  1
    ship_D1_S0  Obj       2.0299999999999998
    ship_D1_S0  flow_balance_D1  -1
    ship_D1_S0  dc_throughput_D1  1
    ship_D1_S0  demand_S0  1
    ship_D1_S1  Obj       6.9800000000000004
    ship_D1_S1  flow_balance_D1  -1
    ship_D1_S1  dc_throughput_D1  1
    ship_D1_S1  demand_S1  1
    ship_D1_S2  Obj       4.5499999999999998
    ship_D1_S2  flow_balance_D1  -1
    ship_D1_S2  dc_throughput_D1  1
    ship_D1_S2  demand_S2  1
    ship_D1_S3  Obj       5.2800000000000002
    ship_D1_S3  flow_balance_D1  -1
    ship_D1_S3  dc_throughput_D1  1
    ship_D1_S3  demand_S3  1
    ship_D1_S4  Obj       4.3600000000000003
    ship_D1_S4  flow_balance_D1  -1
    ship_D1_S4  dc_throughput_D1  1
    ship_D1_S4  demand_S4  1
    ship_D1_S5  Obj       5.0099999999999998
    ship_D1_S5  flow_balance_D1  -1
    ship_D1_S5  dc_throughput_D1  1
    ship_D1_S5  demand_S5  1
    ship_D2_S0  Obj       3
    ship_D2_S0  flow_balance_D2  -1
    ship_D2_S0  dc_throughput_D2  1
    ship_D2_S0  demand_S0  1
    ship_D2_S1  Obj       7.9000000000000004
    ship_D2_S1  flow_balance_D2  -1
    ship_D2_S1  dc_throughput_D2  1
    ship_D2_S1  demand_S1  1
    ship_D2_S2  Obj       6.3200000000000003
    ship_D2_S2  flow_balance_D2  -1
    ship_D2_S2  dc_throughput_D2  1
    ship_D2_S2  demand_S2  1
    ship_D2_S3  Obj       7.1200000000000001
    ship_D2_S3  flow_balance_D2  -1
    ship_D2_S3  dc_throughput_D2  1
    ship_D2_S3  demand_S3  1
    ship_D2_S4  Obj       3.77
    ship_D2_S4  flow_balance_D2  -1
    ship_D2_S4  dc_throughput_D2  1
    ship_D2_S4  demand_S4  1
    ship_D2_S5  Obj       3.21
    ship_D2_S5  flow_balance_D2  -1
    ship_D2_S5  dc_throughput_D2  1
    ship_D2_S5  demand_S5  1
RHS
    RHS_V     plant_cap_P0  180
    RHS_V     plant_cap_P1  160
    RHS_V     dc_throughput_D0  120
    RHS_V     dc_throughput_D1  110
    RHS_V     dc_throughput_D2  100
    RHS_V     demand_S0  53
    RHS_V     demand_S1  45
    RHS_V     demand_S2  47
    RHS_V     demand_S3  52
    RHS_V     demand_S4  44
    RHS_V     demand_S5  49
BOUNDS
 UP BOUND     ship_D0_S0  80
 UP BOUND     ship_D0_S1  80
 UP BOUND     ship_D0_S2  80
 UP BOUND     ship_D0_S3  80
 UP BOUND     ship_D0_S4  80
 UP BOUND     ship_D0_S5  80
 UP BOUND     ship_D1_S0  80
 UP BOUND     ship_D1_S1  80
 UP BOUND     ship_D1_S2  80
 UP BOUND     ship_D1_S3  80
 UP BOUND     ship_D1_S4  80
 UP BOUND     ship_D1_S5  80
 UP BOUND     ship_D2_S0  80
 UP BOUND     ship_D2_S1  80
 UP BOUND     ship_D2_S2  80
 UP BOUND     ship_D2_S3  80
 UP BOUND     ship_D2_S4  80
 UP BOUND     ship_D2_S5  80
ENDATA
