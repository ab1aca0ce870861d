#!/bin/bash
# compose.sh - a docker-compose project (Debian's docker-compose) on a weft network: the project
# file asks for driver weft and IPAM driver weft with a subnet, two services reach each other by
# service name and by alias, a service scaled to two gets two addresses, and docker-compose
# down leaves no device, address, rule or record of weft's. Runs on any engine of the lab
# (LAB_DOCKERD_ROOT); skipped without docker-compose.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_require
command -v docker-compose >/dev/null || lab_skip "docker-compose not installed"
lab_init compose
lab_host 1
lab_image 1
lab_start_weftd 1 --host-id h1

IMG=weft-test:local
P=$LABDIR/project
mkdir -p "$P"
cat >"$P/docker-compose.yml" <<EOF
version: "2.4"
services:
  web:
    image: $IMG
    command: ["sh", "-c", "echo weft-compose >/tmp/index.html && exec httpd -f -p 80 -h /tmp"]
    networks:
      wn:
        aliases: [www]
  client:
    image: $IMG
    command: ["sleep", "600"]
    networks: [wn]
networks:
  wn:
    driver: weft
    ipam:
      driver: weft
      config:
        - subnet: 10.133.0.0/24
EOF
dc() { DOCKER_HOST="unix://$LABDIR/h1/docker.sock" docker-compose -p wp -f "$P/docker-compose.yml" "$@"; }
in_client() { dc exec -T client "$@"; }

clean=$(lab_weft_state 1)
expect_ok "docker-compose up: two services on a new weft network" dc up -d
expect_same "the project's network is weft's, with the project file's subnet" "weft weft 10.133.0.0/24" \
	"$(dk 1 network inspect -f '{{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}}' wp_wn 2>&1)"
expect_ok "client fetches from web by service name" bash -c "$(declare -f dc in_client); P='$P' LABDIR='$LABDIR'
	in_client wget -q -O- http://web/ | grep -qx weft-compose"
expect_ok "client reaches web by its alias" in_client ping -c2 -W2 www
expect_ok "web pings client by service name" dc exec -T web ping -c2 -W2 client
expect_ok "docker-compose up --scale client=2: a second client" dc up -d --scale client=2
a1=$(dk 1 inspect -f '{{(index .NetworkSettings.Networks "wp_wn").IPAddress}}' wp_client_1 2>/dev/null)
a2=$(dk 1 inspect -f '{{(index .NetworkSettings.Networks "wp_wn").IPAddress}}' wp_client_2 2>/dev/null)
expect_ok "the two clients have two addresses of 10.133.0.0/24 ($a1, $a2)" \
	bash -c "[[ '$a1' == 10.133.0.* && '$a2' == 10.133.0.* && '$a1' != '$a2' ]]"
expect_ok "the second client reaches web by service name" dc exec -T --index 2 client ping -c2 -W2 web
expect_ok "docker-compose down" dc down
expect_fail_msg "the project's network is gone" "[Nn]o such network|not found" dk 1 network inspect wp_wn
expect_same "nothing of weft's is left: devices, addresses, rules, records" "$clean" "$(lab_weft_state 1)"

lab_summary
