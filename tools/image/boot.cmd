# wattgate generic-arm64: the A/B boot, run by Debian's U-Boot (u-boot-qemu
# 2023.01, distro boot finds boot.scr on partition 1). docs/image.md.
#
# It does what board/host/launcher does for the host board
# (docs/ota-board.md), on U-Boot's own commands:
#   1. read the environment (two copies on partition 5); neither valid:
#      boot_slot=a bootlimit=3 upgrade_available=0 bootcount=0, stored
#   2. upgrade_available=1: bootcount+1 and stored; past bootlimit,
#      altbootcmd: the other slot, upgrade_available=0, bootcount=0 (one store)
#   3. boot the slot's kernel and initrd (its own root partition) with
#      wattgate.slot=SLOT on the command line; a slot that does not load or
#      boot is a failed boot: reset, and step 2 counts it.
#
# Where the environment is: Debian's U-Boot keeps its own in the virt
# board's CFI flash, ONE 256 KiB copy (no CONFIG_ENV_ADDR_REDUND, no
# bootcount driver; its saveenv also fails on Debian 12's QEMU, #2343), and
# Linux cannot reach that flash at all: Debian's arm64 kernel has no
# CONFIG_MTD_PHYSMAP (nor the CFI command sets). So the environment is
# where an SD-card board keeps it (U-Boot's CONFIG_ENV_IS_IN_MMC with an
# offset and a redundant offset): two 16 KiB copies on the disk, at the
# start of partition 5 (wg-env), in the format of U-Boot's redundant
# environment on a block device, which libubootenv reads and writes: CRC32
# of the data (LE), a flags byte that counts up (the higher is newer, 0
# after 255), then name=value NULs. Here with virtio read/write; in Linux
# with libubootenv (/dev/disk/by-partlabel/wg-env, board.json).

# Partition 5's first block; copy 0 there, copy 1 16 KiB (0x20 blocks) on.
# No partition 5: nothing is read or written (never a guessed block), slot
# a boots uncounted.
setenv wg_es
setenv wg_envok 0
if part start virtio 0 5 wg_es; then
	setenv wg_envok 1
	setexpr wg_b0 ${wg_es} + 0
	setexpr wg_b1 ${wg_es} + 0x20
else
	echo "wattgate: no partition 5 (wg-env): no boot environment"
fi
setenv wg_vars "boot_slot upgrade_available bootcount bootlimit wg_security_counter"
# RAM: the two copies as read, the one to write, and the CRC + data of one
# put together for env import -c (which wants no flags byte). Data bytes:
# 0x4000 - 5 = 0x3ffb; env export/import -c count their CRC too: 0x3fff.
setenv wg_c0 0x5c000000
setenv wg_c1 0x5c100000
setenv wg_new 0x5c200000
setenv wg_imp 0x5c300000
setenv wg_imp4 0x5c300004

# wg_chk: is the copy at ${wg_at} whole (env import -c checks the CRC; the
# variable list names one never set, so nothing is imported)? Sets wg_ok
# and wg_fl (its flags byte, hex). hush does no arithmetic in arguments:
# the +4 and +5 addresses through setexpr.
setenv wg_chk 'setexpr wg_p ${wg_at} + 5; setexpr wg_f ${wg_at} + 4; cp.b ${wg_at} ${wg_imp} 4; cp.b ${wg_p} ${wg_imp4} 0x3ffb; setexpr.b wg_fl *${wg_f}; if env import -c ${wg_imp} 0x3fff wg_none; then setenv wg_ok 1; else setenv wg_ok 0; fi'

# wg_load: the current copy's variables into the environment.
setenv wg_load 'setexpr wg_p ${wg_cur} + 5; cp.b ${wg_cur} ${wg_imp} 4; cp.b ${wg_p} ${wg_imp4} 0x3ffb; env import -c ${wg_imp} 0x3fff ${wg_vars}'

# wg_store: the variables into the copy that is not current, flags = the
# current one's + 1, written and read back. The current copy is not
# touched: a cut leaves it whole, and still the newer good one.
setenv wg_store 'setenv wg_stored 0; if test "${wg_envok}" = 1; then env export -c -s 0x3fff ${wg_imp} ${wg_vars}; cp.b ${wg_imp} ${wg_new} 4; cp.b ${wg_imp4} 0x5c200005 0x3ffb; setexpr wg_nf 0x${wg_flc} + 1; if itest ${wg_nf} == 100; then setenv wg_nf 0; fi; mw.b 0x5c200004 ${wg_nf} 1; if test "${wg_curn}" = 0; then setenv wg_wb ${wg_b1}; setenv wg_wn 1; else setenv wg_wb ${wg_b0}; setenv wg_wn 0; fi; if virtio write ${wg_new} ${wg_wb} 0x20 && virtio read ${wg_c1} ${wg_wb} 0x20 && cmp.b ${wg_new} ${wg_c1} 0x4000; then setenv wg_stored 1; setenv wg_curn ${wg_wn}; setenv wg_flc ${wg_nf}; else echo "wattgate: environment write to block ${wg_wb} failed"; fi; fi'

# 1. Which copy: a good CRC; of two, the higher counter (255 < 0).
setenv wg_ok0 0; setenv wg_ok1 0
if test "${wg_envok}" = 1; then
	virtio read ${wg_c0} ${wg_b0} 0x20
	virtio read ${wg_c1} ${wg_b1} 0x20
	setenv wg_at ${wg_c0}; run wg_chk; setenv wg_ok0 ${wg_ok}; setenv wg_fl0 ${wg_fl}
	setenv wg_at ${wg_c1}; run wg_chk; setenv wg_ok1 ${wg_ok}; setenv wg_fl1 ${wg_fl}
fi
setenv wg_curn
if test "${wg_ok0}" = 1 && test "${wg_ok1}" = 1; then
	setenv wg_curn 0
	if itest.b 0x${wg_fl1} > 0x${wg_fl0}; then setenv wg_curn 1; fi
	if itest.b 0x${wg_fl0} == 0xff && itest.b 0x${wg_fl1} == 0; then setenv wg_curn 1; fi
	if itest.b 0x${wg_fl1} == 0xff && itest.b 0x${wg_fl0} == 0; then setenv wg_curn 0; fi
elif test "${wg_ok0}" = 1; then
	setenv wg_curn 0
elif test "${wg_ok1}" = 1; then
	setenv wg_curn 1
fi

if test -n "${wg_curn}"; then
	if test "${wg_curn}" = 0; then setenv wg_cur ${wg_c0}; setenv wg_flc ${wg_fl0}; else setenv wg_cur ${wg_c1}; setenv wg_flc ${wg_fl1}; fi
	run wg_load
	# One copy torn (a cut write, a bad block): said, and rewritten from
	# the good one at once, so the next store has a copy to fall back on.
	if test "${wg_ok0}" != 1 || test "${wg_ok1}" != 1; then
		if test "${wg_curn}" = 0; then setenv wg_bad 1; else setenv wg_bad 0; fi
		echo "wattgate: environment copy ${wg_bad} is damaged (bad CRC): using copy ${wg_curn}, rewriting ${wg_bad}"
		run wg_store
	fi
else
	echo "wattgate: no valid environment: creating the default one"
	setenv boot_slot a; setenv bootlimit 3; setenv upgrade_available 0; setenv bootcount 0
	# Slot a unless it has no kernel to load (an update was being written
	# to it when the environment was lost): then b. Nothing would count
	# the boots of a slot that never loads (upgrade_available=0).
	setenv wg_ka 0
	if load virtio 0:2 ${kernel_addr_r} /boot/vmlinuz; then setenv wg_ka 1; fi
	if test "${wg_ka}" = 0 && load virtio 0:3 ${kernel_addr_r} /boot/vmlinuz; then
		echo "wattgate: slot a has no kernel to load: the default environment boots b"
		setenv boot_slot b
	fi
	setenv wg_security_counter
	# As if copy 1 were current with flags 0: copy 0 gets flags 1.
	setenv wg_curn 1; setenv wg_flc 0
	run wg_store
fi

# 2. Counting boots. setexpr and itest read hex: fine for 0..9, and
#    bootlimit is 1..9 here (anything else: 3), so a stored bootcount is
#    0..9 and the one past the limit (at most 0xa) is never stored.
if test "${boot_slot}" != a && test "${boot_slot}" != b; then
	echo "wattgate: boot_slot '${boot_slot}' is no slot: booting a"
	setenv boot_slot a
fi
setenv wg_l 3
for n in 1 2 3 4 5 6 7 8 9; do if test "${bootlimit}" = "${n}"; then setenv wg_l ${n}; fi; done
setenv wg_c 0
for n in 1 2 3 4 5 6 7 8 9; do if test "${bootcount}" = "${n}"; then setenv wg_c ${n}; fi; done
if test "${upgrade_available}" = 1; then
	setexpr wg_n ${wg_c} + 1
	if itest ${wg_n} -gt ${wg_l}; then
		if test "${boot_slot}" = a; then setenv wg_alt b; else setenv wg_alt a; fi
		echo "wattgate: bootcount ${wg_n} > bootlimit ${wg_l}: altbootcmd: slot ${boot_slot} -> ${wg_alt}"
		setenv boot_slot ${wg_alt}; setenv upgrade_available 0; setenv bootcount 0
	else
		setenv bootcount ${wg_n}
	fi
	run wg_store
	if test "${wg_stored}" != 1; then echo "wattgate: cannot count this boot: reset"; sleep 1; reset; fi
fi

# 3. The slot's partition, kernel and initrd.
if test "${boot_slot}" = a; then setenv wg_part 2; else setenv wg_part 3; fi
echo "wattgate: boot slot ${boot_slot} (virtio 0:${wg_part}) bootcount ${bootcount}/${bootlimit} upgrade_available ${upgrade_available}"
if part uuid virtio 0:${wg_part} wg_uuid && load virtio 0:${wg_part} ${kernel_addr_r} /boot/vmlinuz; then
	if load virtio 0:${wg_part} ${ramdisk_addr_r} /boot/initrd.img; then
		setenv bootargs "root=PARTUUID=${wg_uuid} ro rootwait console=ttyAMA0,115200 panic=10 wattgate.slot=${boot_slot}"
		booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
	fi
fi
echo "wattgate: slot ${boot_slot} did not boot: reset"
sleep 1
reset
