// The registry's default content in HFRR, written out by hand from specs/registry.md "Structure" (its
// YAML-looking listing, with tabs for the indentation as the spec's HFRR asks), and NCW's own nodes.

export const T = "\t";

/** The spec's default registry (specs/registry.md "Structure"), copied by hand, tabs for its indentation. */
export const SPEC_DEFAULT = `# Kernel configuration (only editable in developer mode)
kernel(struct):
${T}# Signals configuration
${T}signals(struct):
${T}${T}# Delay before forced suspension after WILL_SUSPEND signal
${T}${T}suspend_delay(time(ms)): 500ms
${T}${T}# Delay before forced termination (kill) after WILL_TERMINATE signal
${T}${T}terminate_delay(time(ms)): 500ms
${T}${T}# Delay for a service to answer a connection request
${T}${T}service_answer_delay(ntime(ms,100ms)): 500ms

# System configuration
system(struct):
${T}# Debugging options
${T}debugging(struct):
${T}${T}# Is development mode enabled?
${T}${T}dev_mode(bool): true

${T}# Encryption
${T}encryption(struct):
${T}${T}# Is the global storage encrypted?
${T}${T}global_encrypted(bool): false

${T}# Date and time
${T}datetime(struct):
${T}${T}# Is it based on the internet? (if not, it's a custom one)
${T}${T}internet_based(bool): true
${T}${T}# In the case the date is not internet-based, provide a timestamp which indicates the difference between the computer's
${T}${T}#  local datetime and the one that should be displayed
${T}${T}custom_based_diff(stime(ns)): 0ns

${T}# Crash saves
${T}crash_saves(struct):
${T}${T}# Restore crash saves as soon as the user logs in
${T}${T}restore_on_login(bool): true
${T}${T}# Do not save crash saves for guest users
${T}${T}disable_for_guest_user(bool): true
${T}${T}# Delay between each crash save
${T}${T}collect_every(tmin(s,1s)): 60s
${T}${T}# Ask an application to create a new crash save even if the previous new has not been completed yet
${T}${T}collect_if_previous_unanswered(bool): false

${T}# Freeze-prevention
${T}freeze_prevention(struct):
${T}${T}# Reserved amount of memory (0 = disabled)
${T}${T}reserved_memory(MB): 16MB
${T}${T}# Reserved amount of CPU per virtual core (0 = disabled)
${T}${T}reserved_cpu_vcore(uint{1}): 1

${T}# Processes' lifecycle
${T}processes(struct):
${T}${T}# Delay before suspension
${T}${T}suspend_delay(time(ms)): 500ms
${T}${T}# Delay before termination
${T}${T}terminate_delay(time(ms)): 2000ms
${T}${T}# Delay for services to answer connections
${T}${T}service_answer_delay(time(ms)): 2000ms
`;
export const SPEC_USERS = `
# Users (keys = user's unique identifier, value = user's type with 0 = main admin., 1 = admin., 2 = standard, 3 = guest)
# Detailed informations about each user (nickname, privileges, encryption password, ...) and groups are stored
#   in the user profiles file at '/etc/sys/users'
users(map:(uint{4}):(enum:(MainAdmin, Admin, Standard, Guest))):
${T}0: Admin # System
${T}1: Admin # Administrator
`;
/** NCW's own nodes (docs/registry.md "Keys"), where NCW puts them. */
export const NCW_NODES = `${T}${T}# NCW: most NightOS processes running at once in this NCW home (each is a host process of ~40 MB);
${T}${T}# CREATE_PROCESS beyond it fails with 0x40 and \`ncw run\` with RUN_LIMIT_REACHED; 0 = no limit
${T}${T}max_processes(uint{4}): 32
${T}${T}# NCW: most NightOS memory (the processes' WebAssembly memories) of this NCW home at once;
${T}${T}# CREATE_PROCESS and MEM_ALLOC beyond it fail with 0x40; 0 = no limit
${T}${T}max_memory(MB): 2048MB
${T}${T}# NCW: most threads one NightOS process may have at once, its main thread included (each is a host
${T}${T}# thread with a V8 isolate of its own, ~5 MB); CREATE_THREAD beyond it fails with 0x40; 0 = no limit
${T}${T}max_threads(uint{4}): 64

${T}# Applications (NCW: the spec's default registry has no such struct yet)
${T}applications(struct):
${T}${T}# NCW: how Skyer treats packages installed from a file: disabled, store-checking (needs the Store:
${T}${T}# offline, so it behaves as disabled) or unsecure (no check; AID spoofing possible)
${T}${T}sideloading(enum:(disabled,store-checking,unsecure)): unsecure
`;
export const NCW_DEFAULT = SPEC_DEFAULT + NCW_NODES + SPEC_USERS;
