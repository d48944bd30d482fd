# Fake Vivado Tcl commands (tests): `tclsh vivado_stubs.tcl board/bitstream.tcl` runs the generated script;
# every block-design command is recorded, one line per call (the command and its arguments, tab-separated),
# in $FAKE_VIVADO_LOG; get_bd_* return typed names (cell:, pin:, intf:, space:, seg:). fakeboard.py builds the
# graph from that record (validate_bd_design fails on what Vivado's validation would refuse), writes the
# bitstream and the hwh after the implementation run, and copies real Vivado reports for report_*.
set ::fake_dir [file dirname [file normalize [info script]]]
set ::log $::env(FAKE_VIVADO_LOG)
set ::proj_dir ""
set ::proj_name ""
proc rec {args} { set f [open $::log a]; puts $f [join $args "\t"]; close $f }
proc fb {args} { exec python3 [file join $::fake_dir fakeboard.py] {*}$args $::log >@ stdout 2>@ stderr }
proc create_project {name dir args} { set ::proj_name $name; set ::proj_dir [file normalize $dir]; file mkdir $dir; rec create_project $name $::proj_dir {*}$args }
proc current_project {args} { return "project:$::proj_name" }
proc current_fileset {args} { return "fileset:sources_1" }
proc set_property {args} { rec set_property {*}$args }
proc get_property {name obj} {
    if {$name eq "PROGRESS"} { return "100%" }
    if {$name eq "DIRECTORY" && $obj eq "run:impl_1"} { return [file join $::proj_dir $::proj_name.runs impl_1] }
    if {$name eq "DIRECTORY"} { return $::proj_dir }
    error "fake vivado: get_property $name $obj"
}
proc update_ip_catalog {args} { rec update_ip_catalog }
proc create_bd_design {name} { rec create_bd_design $name }
proc get_ipdefs {args} {
    set pattern [lindex $args end]
    set out {}
    foreach v {xilinx.com:ip:processing_system7:5.4 xilinx.com:ip:processing_system7:5.5 xilinx.com:ip:zynq_ultra_ps_e:3.4
               xilinx.com:ip:axi_dma:7.0 xilinx.com:ip:axi_dma:7.1 xilinx.com:ip:smartconnect:1.0
               xilinx.com:ip:proc_sys_reset:5.0} { if {[string match $pattern $v]} { lappend out $v } }
    return $out
}
proc create_bd_cell {args} { set name [lindex $args end]; rec create_bd_cell {*}$args; return "cell:$name" }
proc get_bd_cells {args} { return "cell:[lindex $args end]" }
proc get_bd_pins {args} { return "pin:[lindex $args end]" }
proc get_bd_intf_pins {args} { return "intf:[lindex $args end]" }
proc get_bd_addr_spaces {args} { return "space:[lindex $args end]" }
proc get_bd_addr_segs {args} { return "seg:[lindex $args end]" }
proc get_runs {name} { return "run:$name" }
proc apply_bd_automation {args} { rec apply_bd_automation {*}$args }
proc connect_bd_intf_net {args} { rec connect_bd_intf_net {*}$args }
proc connect_bd_net {args} { rec connect_bd_net {*}$args }
proc assign_bd_address {args} { rec assign_bd_address {*}$args }
proc validate_bd_design {args} { rec validate_bd_design; fb validate }
proc save_bd_design {args} { rec save_bd_design }
proc get_files {args} { return [file join $::proj_dir $::proj_name.srcs sources_1 bd design_1 design_1.bd] }
proc make_wrapper {args} { rec make_wrapper {*}$args; return [file join $::proj_dir $::proj_name.gen sources_1 bd design_1 hdl design_1_wrapper.v] }
proc add_files {args} { rec add_files {*}$args }
proc launch_runs {args} { rec launch_runs {*}$args }
proc wait_on_run {name} {
    rec wait_on_run $name
    if {$name eq "impl_1"} { fb implement $::proj_dir $::proj_name }
}
proc open_run {name} { rec open_run $name }
proc report_utilization {args} { rec report_utilization {*}$args; fb report utilization [lindex $args [expr {[lsearch $args -file] + 1}]] }
proc report_timing_summary {args} { rec report_timing_summary {*}$args; fb report timing [lindex $args [expr {[lsearch $args -file] + 1}]] }
source [lindex $argv 0]
