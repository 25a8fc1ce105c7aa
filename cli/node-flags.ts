/**
 * V8 flags the daemon runs with (bin/scangate.js carries them in its `#!` line; whoever spawns `scangate` with
 * `node bin/scangate.js` passes them too).
 *
 * --max-semi-space-size=64 (MiB, default 16): a read lives from its decision until its event is durable (the
 * write group, the commit and the disk flush: 10-40 ms under load), and with the default young generation a
 * collection came every ~25 ms at 50,000 reads/s, so most reads in flight were copied once and promoted: ~50 MB/s
 * into the old generation, a seventh of the main thread in scavenges. With 64 MiB semi-spaces they die young:
 * promotion fell by half to two thirds and the scavenge time by 40% in the MQTT benchmark, for up to ~150 MiB
 * more memory at full rate.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
