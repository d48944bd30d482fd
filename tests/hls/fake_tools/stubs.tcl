# Fake Vitis HLS Tcl commands for tests: `tclsh stubs.tcl build_prj.tcl` runs hls4ml's real build_prj.tcl
# with the commands it calls stubbed (see fakevitis.py). Project state lives on disk as Vitis keeps it:
# open_project/open_solution -reset delete the folder (synthesis results included), else keep it.
set ::fake_dir [file dirname [file normalize [info script]]]
set ::fake_root [pwd]
if {![info exists ::env(FAKE_VITIS_LOG)]} { set ::env(FAKE_VITIS_LOG) [file join $::fake_root fake_vitis.log] }
set ::fake_project ""
set ::fake_solution ""
set ::fake_top ""
set ::fake_files [dict create]
set ::fake_argv(csim) ""
set ::fake_argv(cosim) ""

proc fake_log {msg} {
    set name [expr {[info exists ::env(FAKE_VITIS_LOG)] ? $::env(FAKE_VITIS_LOG) : "fake_vitis.log"}]
    set f [open [file join $::fake_root $name] a]
    puts $f $msg
    close $f
}

proc fake_step {step {argv ""}} {
    set list [file join $::fake_root $::fake_project .fake_files]
    set f [open $list w]
    dict for {path info} $::fake_files {
        puts $f "[dict get $info kind]\t$path\t[dict get $info flags]"
    }
    close $f
    exec python3 [file join $::fake_dir fakevitis.py] $step $::fake_root "$::fake_project/$::fake_solution" \
        $::fake_top $list $argv >@ stdout 2>@ stderr
}

proc fake_reset {args} { return [expr {[lsearch -exact $args -reset] >= 0}] }

proc open_project {args} {
    set name [lindex $args end]
    set reset [fake_reset {*}$args]
    if {$reset} { file delete -force [file join $::fake_root $name] }
    file mkdir [file join $::fake_root $name]
    set ::fake_project $name
    fake_log "open_project reset=$reset $name"
}

proc open_solution {args} {
    set name [lindex $args end]
    set reset [fake_reset {*}$args]
    set dir [file join $::fake_root $::fake_project $name]
    if {$reset} { file delete -force $dir }
    file mkdir $dir
    set ::fake_solution $name
    fake_log "open_solution reset=$reset $name"
}

proc set_top {name} { set ::fake_top $name }

# add_files [-tb] [-cflags FLAGS] PATH: a file added again keeps one entry, with the latest flags
proc add_files {args} {
    set kind syn
    set flags ""
    set path ""
    for {set i 0} {$i < [llength $args]} {incr i} {
        set a [lindex $args $i]
        if {$a eq "-tb"} { set kind tb } elseif {$a eq "-cflags"} { incr i; set flags [lindex $args $i] } else { set path $a }
    }
    dict set ::fake_files $path [dict create kind $kind flags $flags]
    fake_log "add_files $kind $path {$flags}"
}

foreach cmd {set_part create_clock set_clock_uncertainty config_compile config_schedule config_array_partition config_export} {
    proc $cmd {args} "fake_log \"$cmd \$args\""
}

proc fake_option {args name} {
    set i [lsearch -exact $args $name]
    return [expr {$i >= 0 ? [lindex $args [expr {$i + 1}]] : ""}]
}

proc csim_design {args} { fake_log "csim_design $args"; fake_step csim [fake_option $args -argv] }
proc csynth_design {args} { fake_log "csynth_design $args"; fake_step synth }
proc cosim_design {args} {
    fake_log "cosim_design $args"
    set argv [fake_option $args -argv]
    fake_step cosim_setup $argv
    if {[lsearch -exact $args -setup] < 0} { fake_step cosim_run $argv }
}
# what the run_sim.tcl written by cosim_design -setup calls (hls4ml's build_prj.tcl sources it)
proc fake_cosim_run {argv} { fake_step cosim_run $argv }
proc export_design {args} { fake_log "export_design $args"; fake_step export }

source [lindex $::argv 0]
