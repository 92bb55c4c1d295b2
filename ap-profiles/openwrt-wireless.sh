#!/bin/sh
# openwrt-wireless.sh: wireless figures of an OpenWrt AP for net-snmp's
# `extend`, under the extend names the LibreNMS OpenWrt scripts use, so
# that Portico's `openwrt` profile (and LibreNMS) can read them:
#
#   interfaces            one line per AP-mode interface: "<ifname>,<label>"
#   clients-<if>          associated stations on <if>
#   clients-wlan          associated stations on all of them
#   frequency-<if>        the operating frequency of <if>, in MHz
#   noise-floor-<if>      the noise floor of <if>'s channel, in dBm
#   snr-<if>-min|avg|max  the stations' signal-to-noise ratio, in dB
#   rate-tx|rx-<if>-min|avg|max  the stations' bit rates, in bit/s
#
# A value the radio does not give prints nothing (an empty line), never 0.
# Needs `iw`; `iwinfo` is used where present (noise, SNR).
#
# Install: copy to /usr/bin/openwrt-wireless.sh, chmod 755, then add to
# /etc/config/snmpd one section per name (wlan0/wlan1 are examples; run
# `openwrt-wireless.sh interfaces` to see yours) and `service snmpd restart`:
#
#   config extend
#           option name 'interfaces'
#           option prog '/usr/bin/openwrt-wireless.sh'
#           option args 'interfaces'
#   config extend
#           option name 'clients-wlan0'
#           option prog '/usr/bin/openwrt-wireless.sh'
#           option args 'clients wlan0'
#   config extend
#           option name 'frequency-wlan0'
#           option prog '/usr/bin/openwrt-wireless.sh'
#           option args 'frequency wlan0'
#   config extend
#           option name 'noise-floor-wlan0'
#           option prog '/usr/bin/openwrt-wireless.sh'
#           option args 'noise-floor wlan0'
#   (the same three for wlan1, ...; optionally clients-wlan with
#    args 'clients', snr-wlan0-avg with args 'snr wlan0 avg', and
#    rate-tx-wlan0-avg with args 'rate wlan0 tx avg')
#
# which the OpenWrt init script turns into these snmpd.conf lines (write
# them yourself on a plain net-snmp install):
#
#   extend interfaces        /usr/bin/openwrt-wireless.sh interfaces
#   extend clients-wlan0     /usr/bin/openwrt-wireless.sh clients wlan0
#   extend frequency-wlan0   /usr/bin/openwrt-wireless.sh frequency wlan0
#   extend noise-floor-wlan0 /usr/bin/openwrt-wireless.sh noise-floor wlan0
#   extend clients-wlan1     /usr/bin/openwrt-wireless.sh clients wlan1
#   extend frequency-wlan1   /usr/bin/openwrt-wireless.sh frequency wlan1
#   extend noise-floor-wlan1 /usr/bin/openwrt-wireless.sh noise-floor wlan1
#
# Do not give these `extend` lines a MIB OID: Portico reads the default
# NET-SNMP-EXTEND-MIB place (nsExtendOutLine / nsExtendOutput1Line).

PATH=/usr/sbin:/usr/bin:/sbin:/bin

usage() {
	echo "usage: $0 interfaces | clients [IF] | frequency IF | noise-floor IF | snr IF min|avg|max | rate IF tx|rx min|avg|max" >&2
	exit 2
}

# AP-mode interfaces, one name a line.
ap_interfaces() {
	iw dev 2>/dev/null | awk '
		$1 == "Interface" { name = $2 }
		$1 == "type" && name != "" { if ($2 == "AP") print name; name = "" }
	' | sort
}

# The frequency of IF in MHz, from "channel N (FFFF MHz), ..." of `iw info`.
frequency() {
	iw dev "$1" info 2>/dev/null | awk '
		$1 == "channel" {
			for (i = 2; i <= NF; i++) if ($(i + 1) ~ /^MHz/) { sub(/^\(/, "", $i); print $i + 0; exit }
		}
	'
}

# Stations on IF.
clients() {
	iw dev "$1" station dump 2>/dev/null | awk '$1 == "Station" { n++ } END { print n + 0 }'
}

# Noise floor of IF in dBm: iwinfo's "Noise: -95 dBm", else the survey
# entry of the channel in use.
noise_floor() {
	n=""
	if command -v iwinfo >/dev/null 2>&1; then
		n=$(iwinfo "$1" info 2>/dev/null | awk '
			{ for (i = 1; i < NF; i++) if ($i == "Noise:" && $(i + 1) ~ /^-?[0-9]+$/) { print $(i + 1); exit } }
		')
	fi
	if [ -z "$n" ]; then
		n=$(iw dev "$1" survey dump 2>/dev/null | awk '
			$1 == "frequency:" { inuse = ($0 ~ /in use/) }
			inuse && $1 == "noise:" { print $2 + 0; exit }
		')
	fi
	echo "$n"
}

# min, avg (rounded) or max of the numbers on stdin; nothing when none.
reduce() {
	awk -v how="$1" '
		$1 ~ /^-?[0-9.]+$/ {
			v = $1 + 0; s += v; c++
			if (c == 1 || v < lo) lo = v
			if (c == 1 || v > hi) hi = v
		}
		END {
			if (c == 0) exit
			if (how == "min") r = lo; else if (how == "max") r = hi; else r = s / c
			printf "%d\n", (r < 0 ? r - 0.5 : r + 0.5)
		}
	'
}

# Stations' SNR on IF, from iwinfo's "(SNR 34)"; else signal minus noise.
snr_values() {
	if command -v iwinfo >/dev/null 2>&1; then
		iwinfo "$1" assoclist 2>/dev/null | awk '
			{ for (i = 1; i < NF; i++) if ($i == "(SNR") { v = $(i + 1); sub(/\)$/, "", v); print v } }
		'
	else
		nf=$(noise_floor "$1")
		[ -n "$nf" ] || return 0
		iw dev "$1" station dump 2>/dev/null | awk -v nf="$nf" '
			$1 == "signal:" { print $2 - nf }
		'
	fi
}

# Stations' tx or rx bit rate on IF in bit/s, from "tx bitrate: 144.4 MBit/s".
rate_values() {
	iw dev "$1" station dump 2>/dev/null | awk -v dir="$2" '
		$1 == dir && $2 == "bitrate:" { printf "%.0f\n", $3 * 1000000 }
	'
}

cmd=$1
[ -n "$cmd" ] || usage
shift
case "$cmd" in
interfaces)
	for i in $(ap_interfaces); do
		f=$(frequency "$i")
		case "$f" in
		24[0-9][0-9]) band=2.4GHz ;;
		593[5-9] | 59[4-9][0-9] | 6[0-9][0-9][0-9] | 7[01][0-9][0-9]) band=6GHz ;;
		5[0-9][0-9][0-9]) band=5GHz ;;
		*) band=wifi ;;
		esac
		echo "$i,$i-$band"
	done
	;;
clients)
	if [ -n "$1" ]; then
		clients "$1"
	else
		total=0
		for i in $(ap_interfaces); do
			total=$((total + $(clients "$i")))
		done
		echo "$total"
	fi
	;;
frequency)
	[ -n "$1" ] || usage
	frequency "$1"
	;;
noise-floor)
	[ -n "$1" ] || usage
	noise_floor "$1"
	;;
snr)
	[ -n "$1" ] || usage
	snr_values "$1" | reduce "${2:-avg}"
	;;
rate)
	[ -n "$1" ] || usage
	case "$2" in tx | rx) ;; *) usage ;; esac
	rate_values "$1" "$2" | reduce "${3:-avg}"
	;;
*)
	usage
	;;
esac
