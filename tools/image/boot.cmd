# wattgate generic-arm64: the A/B boot, run by Debian's U-Boot (u-boot-qemu
# 2023.01, distro boot finds boot.scr on partition 1). docs/image.md.
#
# It does what board/host/launcher does for the host board
# (docs/ota-board.md), on U-Boot's own commands:
#   1. read the environment (two copies in NOR flash); neither valid:
#      boot_slot=a bootlimit=3 upgrade_available=0 bootcount=0, stored
#   2. upgrade_available=1: bootcount+1 and stored; past bootlimit,
#      altbootcmd: the other slot, upgrade_available=0, bootcount=0 (one store)
#   3. boot the slot's kernel and initrd (its own root partition) with
#      wattgate.slot=SLOT on the command line; a slot that does not load or
#      boot is a failed boot: reset, and step 2 counts it.
#
# Why not saveenv: Debian's U-Boot keeps ONE 256 KiB copy (no
# CONFIG_ENV_ADDR_REDUND, no bootcount driver), and on Debian 12's QEMU
# (7.2 with the pflash write-buffer change, QEMU #2343) its saveenv fails
# after the first 4 KiB. So the environment is two 4 KiB copies in the
# format libubootenv reads on NOR (CRC32 of the data, a flags byte:
# 1 active, 0 obsolete, then name=value NULs), each at the start of its
# own 256 KiB erase block of the second flash bank, written here with
# erase + cp.b (which stays inside one write buffer) and read back.
# Linux reads and writes the same bytes with libubootenv through MTD.

# Layout (bank 2 of the virt board's flash is at 0x04000000): copy 0 in
# the second erase block, copy 1 in the third (the first is U-Boot's own).
setenv wg_env0 0x04040000
setenv wg_env1 0x04080000
# Data bytes after CRC (4) and flags (1): 0x1000 - 5; env export -c -s
# counts its own 4-byte CRC, hence 0xfff.
setenv wg_vars "boot_slot upgrade_available bootcount bootlimit wg_security_counter"
setenv wg_buf 0x5c000000
setenv wg_img 0x5c100000
setenv wg_one 0x5c200000
# hush does no arithmetic in arguments: the +4 and +5 addresses spelled out.
setenv wg_buf4 0x5c000004
setenv wg_img4 0x5c100004
setenv wg_img5 0x5c100005

# wg_chk: is copy ${wg_at} whole? Its CRC and data put together as
# env import -c wants them (no flags byte), which checks the CRC; the
# variable list names one that is never set, so nothing is imported yet.
# Sets wg_ok (1 or 0) and wg_fl (the flags byte, hex).
setenv wg_chk 'setexpr wg_p ${wg_at} + 5; setexpr wg_f ${wg_at} + 4; cp.b ${wg_at} ${wg_buf} 4; cp.b ${wg_p} ${wg_buf4} 0xffb; setexpr.b wg_fl *${wg_f}; if env import -c ${wg_buf} 0xfff wg_none; then setenv wg_ok 1; else setenv wg_ok 0; fi'

# wg_load: the current copy's variables into the environment.
setenv wg_load 'setexpr wg_p ${wg_cur} + 5; cp.b ${wg_cur} ${wg_buf} 4; cp.b ${wg_p} ${wg_buf4} 0xffb; env import -c ${wg_buf} 0xfff ${wg_vars}'

# wg_store: the variables into the copy that is not current (erased, then
# written, then compared), flags 1; then the old copy's flags byte to 0
# (NOR: bits only cleared, no erase). The old copy stays whole until the
# new one is: a cut leaves one good copy.
setenv wg_store 'env export -c -s 0xfff ${wg_buf} ${wg_vars}; cp.b ${wg_buf} ${wg_img} 4; mw.b ${wg_img4} 1 1; cp.b ${wg_buf4} ${wg_img5} 0xffb; if test "${wg_cur}" = "${wg_env0}"; then setenv wg_new ${wg_env1}; else setenv wg_new ${wg_env0}; fi; protect off ${wg_new} +0x1000; erase ${wg_new} +0x1000; cp.b ${wg_img} ${wg_new} 0x1000; if cmp.b ${wg_img} ${wg_new} 0x1000; then if test -n "${wg_cur}"; then setexpr wg_f ${wg_cur} + 4; mw.b ${wg_one} 0 1; protect off ${wg_cur} +0x1000; cp.b ${wg_one} ${wg_f} 1; fi; setenv wg_cur ${wg_new}; setenv wg_stored 1; else echo "wattgate: environment write to ${wg_new} failed"; setenv wg_stored 0; fi'

# 1. Which copy: a good CRC; of two, libubootenv's rule for NOR flags
#    (0xff wins, then the higher; equal: copy 0).
setenv wg_at ${wg_env0}; run wg_chk; setenv wg_ok0 ${wg_ok}; setenv wg_fl0 ${wg_fl}
setenv wg_at ${wg_env1}; run wg_chk; setenv wg_ok1 ${wg_ok}; setenv wg_fl1 ${wg_fl}
setenv wg_cur
if test "${wg_ok0}" = 1 && test "${wg_ok1}" = 1; then
	setenv wg_cur ${wg_env0}
	if itest.b 0x${wg_fl1} > 0x${wg_fl0}; then setenv wg_cur ${wg_env1}; fi
	if itest.b 0x${wg_fl1} == 0xff; then setenv wg_cur ${wg_env1}; elif itest.b 0x${wg_fl0} == 0xff; then setenv wg_cur ${wg_env0}; fi
elif test "${wg_ok0}" = 1; then
	setenv wg_cur ${wg_env0}
elif test "${wg_ok1}" = 1; then
	setenv wg_cur ${wg_env1}
fi

if test -n "${wg_cur}"; then
	run wg_load
else
	echo "wattgate: no valid environment: creating the default one"
	setenv boot_slot a; setenv bootlimit 3; setenv upgrade_available 0; setenv bootcount 0
	setenv wg_security_counter
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
	# Debian's arm64 vmlinuz is gzip: booti unpacks it there.
	setenv kernel_comp_addr_r 0x50000000
	setenv kernel_comp_size ${filesize}
	if load virtio 0:${wg_part} ${ramdisk_addr_r} /boot/initrd.img; then
		setenv bootargs "root=PARTUUID=${wg_uuid} ro rootwait console=ttyAMA0,115200 panic=10 wattgate.slot=${boot_slot}"
		booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
	fi
fi
echo "wattgate: slot ${boot_slot} did not boot: reset"
sleep 1
reset
