# Fake Vitis HLS Tcl commands for `make ip` (tests): `tclsh hls_stubs.tcl board/hls_ip.tcl` runs the generated
# script with the commands it calls recorded; csynth_design and export_design call fakeboard.py.
set ::fake_dir [file dirname [file normalize [info script]]]
set ::prj ""
set ::sol ""
set ::top ""
set ::files {}
set ::part ""
set ::clock ""
proc open_project {args} { set ::prj [lindex $args end]; if {[lsearch $args -reset] >= 0} { file delete -force $::prj }; file mkdir $::prj }
proc open_solution {args} { set ::sol [lindex $args [expr {[lsearch $args -reset] >= 0 ? 1 : 0}]]; if {[string match -* $::sol]} { set ::sol [lindex $args end] }; file mkdir [file join $::prj $::sol] }
proc set_top {name} { set ::top $name }
proc add_files {args} { foreach a $args { if {[file exists $a]} { lappend ::files $a } elseif {![string match -* $a] && ![string match *std=* $a]} { error "add_files: $a does not exist" } } }
proc set_part {p} { set ::part $p }
proc create_clock {args} { set ::clock [lindex $args [expr {[lsearch $args -period] + 1}]] }
proc set_clock_uncertainty {args} {}
proc config_compile {args} {}
proc config_schedule {args} {}
proc csynth_design {args} {
    if {$::part eq "" || $::clock eq ""} { error "csynth_design: no part or clock" }
    exec python3 [file join $::fake_dir fakeboard.py] hls-synth $::top {*}$::files >@ stdout 2>@ stderr
}
proc export_design {args} {
    if {[lindex $args [expr {[lsearch $args -format] + 1}]] ne "ip_catalog"} { error "export_design: not ip_catalog" }
    set name [lindex $args [expr {[lsearch $args -ipname] + 1}]]
    exec python3 [file join $::fake_dir fakeboard.py] hls-export [file join $::prj $::sol impl ip] $::top $name {*}$::files >@ stdout 2>@ stderr
}
source [lindex $argv 0]
