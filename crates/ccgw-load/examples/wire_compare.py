# Byte-identity check of the agent listener: sends the same ~50 raw requests (hot path, HEAD, 404/405,
# odd targets, malformed heads, bodies, chunked, 100-continue, HTTP/1.0, polls, JSONP; with ORIGIN=... every
# request carries that Origin, for CORS) to two gateways over TLS and compares the answers with Date, GUIDs
# and times masked. `python3 wire_compare.py <port of gateway A> <port of gateway B>` (demo provisioning).
# Sends the same raw requests to two gateways and prints whether the answers are byte-identical
# once the values that must differ (Date, GUIDs, times) are masked.
import re, socket, ssl, sys, time, json

import os
ORIGIN = os.environ.get("ORIGIN", "").encode()
def inject(d):
    if not ORIGIN or not d.startswith((b"GET", b"PUT", b"POST", b"DELETE", b"HEAD", b"OPTIONS")): return d
    i = d.index(b"\r\n") + 2
    return d[:i] + b"Origin: " + ORIGIN + b"\r\n" + d[i:]
def raw(port, data, timeout=3.0):
    data = [inject(data[0])] + data[1:] if isinstance(data, list) else inject(data)
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
    s.settimeout(timeout)
    if isinstance(data, list):
        for part in data:
            s.sendall(part); time.sleep(0.05)
    else:
        s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b: break
            out += b
    except (socket.timeout, ssl.SSLError, ConnectionResetError):
        pass
    s.close()
    return out

def mask(b):
    b = re.sub(rb"Date: [^\r]*", b"Date: X", b)
    b = re.sub(rb"JSESSIONID=[^\r]*", b"JSESSIONID=X", b)
    b = re.sub(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}[^\"\r]*", b"UUID", b)
    b = re.sub(rb"\"(loginDate|loginTime|logindate|workDate|time|timestamp|currentTime)\":\d+", rb'"\1":T', b)
    b = re.sub(rb"1[7-9]\d{11}", b"MS", b)
    return b

P = "/agentgateway/resource"
def signin(port, agent):
    body = json.dumps({"password":"ccgw-demo","phonenum":"7%d" % agent,"status":4,"autoanswer":False}).encode()
    r = raw(port, b"PUT %s/onlineagent/%d HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (P.encode(), agent, len(body), body))
    m = re.search(rb"Set-GUID: JSESSIONID=([^\r]*)", r)
    return r, m.group(1).decode() if m else ""

def cases(port, guid):
    g = guid.encode(); p = P.encode()
    H = b"Host: 127.0.0.1\r\n"
    sb = json.dumps({"password":"ccgw-demo","phonenum":"7102","status":4}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(sb), sb)
    return {
      "allcallinfo": b"GET %s/calldata/101/allcallinfoEx/101 HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "allcallinfo-keepalive-pipelined": b"GET %s/calldata/101/allcallinfoEx/101 HTTP/1.1\r\n%sGuid: %s\r\n\r\nGET %s/calldata/101/allcallinfoEx/101?x=1 HTTP/1.1\r\n%sguid: %s\r\nConnection: close\r\n\r\n" % (p, H, g, p, H, g),
      "head-agentstatus": b"HEAD %s/onlineagent/101/agentstatus HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "head-keepalive": b"HEAD %s/onlineagent/101/agentstatus HTTP/1.1\r\n%sGuid: %s\r\n\r\nGET %s/onlineagent/101/agentstatus HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g, p, H, g),
      "wrong-guid": b"GET %s/calldata/101/allcallinfoEx/101 HTTP/1.1\r\n%sGuid: nope\r\nConnection: close\r\n\r\n" % (p, H),
      "no-guid": b"GET %s/onlineagent/101/agentstatus HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (p, H),
      "bad-agent": b"GET %s/onlineagent/10x/agentstatus HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (p, H),
      "404": b"GET %s/nothing/here HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (p, H),
      "405": b"DELETE %s/onlineagent/101/agentstatus HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (p, H),
      "head-405": b"HEAD %s/onlineagent/101/saybusy HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (p, H),
      "double-slash": b"GET /agentgateway/resource//onlineagent/101/agentstatus/ HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (H, g),
      "absolute-form": b"GET https://127.0.0.1%s/onlineagent/101/agentstatus HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "fragment": b"GET %s/onlineagent/101/agentstatus#frag HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "odd-target-bytes": b"GET %s/onlineagent/101/agentstatus?a=\"{|}\" HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "percent": b"GET %s/onlineagent/%%31%%30%%31/agentstatus HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "star": b"OPTIONS * HTTP/1.1\r\n%sConnection: close\r\n\r\n" % H,
      "no-slash": b"GET foo HTTP/1.1\r\n%sConnection: close\r\n\r\n" % H,
      "openapi-head": b"HEAD /agentgateway/openapi.json HTTP/1.1\r\n%sConnection: close\r\n\r\n" % H,
      "openapi": b"GET /agentgateway/openapi.json HTTP/1.1\r\n%sConnection: close\r\n\r\n" % H,
      "js": b"GET /agentgateway/resource-js HTTP/1.1\r\n%sConnection: close\r\n\r\n" % H,
      "js-head": b"HEAD /agentgateway/resource-js HTTP/1.1\r\n%sConnection: close\r\n\r\n" % H,
      "preflight": b"OPTIONS %s/onlineagent/101 HTTP/1.1\r\n%sAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type,guid\r\nConnection: close\r\n\r\n" % (p, H),
      "preflight-other-path": b"OPTIONS /elsewhere HTTP/1.1\r\n%sAccess-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n" % H,
      "options-no-acrm": b"OPTIONS %s/onlineagent/101 HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (p, H),
      "garbage": b"GARBAGE\r\n\r\n",
      "no-host": b"GET %s/nothing HTTP/1.1\r\nConnection: close\r\n\r\n" % p,
      "two-hosts": b"GET %s/nothing HTTP/1.1\r\n%s%sConnection: close\r\n\r\n" % (p, H, H),
      "bad-host": b"GET %s/nothing HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n" % p,
      "cl-and-te": b"POST %s/nothing HTTP/1.1\r\n%sContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc" % (p, H),
      "bad-name": b"GET %s/nothing HTTP/1.1\r\n%sFo(o: x\r\nConnection: close\r\n\r\n" % (p, H),
      "ctl-in-value": b"GET %s/nothing HTTP/1.1\r\n%sX: a\x01b\r\nConnection: close\r\n\r\n" % (p, H),
      "high-in-value": b"GET %s/onlineagent/101/agentstatus HTTP/1.1\r\n%sGuid: \xe9\r\nConnection: close\r\n\r\n" % (p, H),
      "te-not-chunked": b"POST %s/nothing HTTP/1.1\r\n%sTransfer-Encoding: gzip\r\n\r\n" % (p, H),
      "bad-cl": b"POST %s/nothing HTTP/1.1\r\n%sContent-Length: 1x\r\n\r\n" % (p, H),
      "http10": b"GET %s/onlineagent/101/agentstatus HTTP/1.0\r\nGuid: %s\r\n\r\n" % (p, g),
      "http10-keepalive": b"GET %s/onlineagent/101/agentstatus HTTP/1.0\r\nGuid: %s\r\nConnection: keep-alive\r\n\r\nGET %s/nothing HTTP/1.0\r\n\r\n" % (p, g, p),
      "too-large-body": b"PUT %s/onlineagent/102 HTTP/1.1\r\n%sContent-Length: 99999999\r\n\r\nxx" % (p, H),
      "chunked-signin-bad-password": b"PUT %s/onlineagent/103 HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n%s" % (p, H, chunked.replace(b"ccgw-demo", b"wrong-pwd")),
      "chunked-malformed": b"PUT %s/onlineagent/103 HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n\r\nzz\r\n" % (p, H),
      "expect-continue": [b"PUT %s/onlineagent/104 HTTP/1.1\r\n%sExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n" % (p, H), b"{}"],
      "bad-json": b"PUT %s/onlineagent/104 HTTP/1.1\r\n%sContent-Length: 3\r\nConnection: close\r\n\r\n{x}" % (p, H),
      "poll": b"GET %s/agentevent/101 HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "poll-bad-guid": b"GET %s/agentevent/101 HTTP/1.1\r\n%sGuid: x\r\nConnection: close\r\n\r\n" % (p, H),
      "jsonp": b"GET %s/agentevent/101/jsonp?callback=cb HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "head-poll": b"HEAD %s/agentevent/101 HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "saybusy": b"POST %s/onlineagent/101/saybusy HTTP/1.1\r\n%sGuid: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % (p, H, g),
      "logout": b"DELETE %s/onlineagent/101/forcelogout HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
      "after-logout": b"GET %s/calldata/101/allcallinfoEx/101 HTTP/1.1\r\n%sGuid: %s\r\nConnection: close\r\n\r\n" % (p, H, g),
    }

a, b = int(sys.argv[1]), int(sys.argv[2])
ra, ga = signin(a, 101); rb, gb = signin(b, 101)
res = [("signin", mask(ra), mask(rb))]
ca, cb = cases(a, ga), cases(b, gb)
for name in ca:
    res.append((name, mask(raw(a, ca[name])), mask(raw(b, cb[name]))))
diff = 0
for name, x, y in res:
    same = x == y
    diff += not same
    print("%-34s %s %s" % (name, "same" if same else "DIFFERENT", x.split(b"\r\n")[0].decode("latin1") if x else "(no answer)"))
    if not same:
        print("  old:", x[:600]); print("  new:", y[:600])
print("differences:", diff, "of", len(res))
