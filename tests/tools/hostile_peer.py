#!/usr/bin/env python3
# A hand-written hostile peer, as issue #11 tried one, against a `ferry
# receive` binary on loopback: tests/tools/hostile_peer.py FERRY [WIRE_VERSION]
# (2: the code before the issue, plain TCP; 3: today's, run with
# --insecure, since TLS refuses this peer before any of this). It sends an
# 8 MiB PREFLIGHT of minimal entries, idles after HELLO while a second
# peer says HELLO, asks pre-flight about /etc/shadow, sends pages after a
# failed pre-flight and an escape sequence as its host name, and prints
# what the receiver did. tests/unit/test_hostile.c checks the same in
# `make unit`; this script shows the behaviour of any build.
import socket, struct, subprocess, sys, time, os
FERRY=sys.argv[1]; VER=int(sys.argv[2]) if len(sys.argv) > 2 else 2
MAGIC=0x46525900|VER
def frame(t,p): return struct.pack('<IHHI',MAGIC,t,0,len(p))+p
def s(x): return struct.pack('<H',len(x))+x
def hello(host=b'attacker'):
    p=struct.pack('<IQ',VER,1)+s(host)+s(b'6.12')
    if VER>=3: p+=os.urandom(16)
    return frame(1,p)
def recv_frame(c, timeout=5):
    c.settimeout(timeout); h=b''
    while len(h)<12:
        d=c.recv(12-len(h))
        if not d: return None
        h+=d
    m,t,f,l=struct.unpack('<IHHI',h); b=b''
    while len(b)<l:
        d=c.recv(l-len(b))
        if not d: return None
        b+=d
    return t,b
def start(port, extra=()):
    d='/tmp/hostile-store-%d'%port; subprocess.run(['rm','-rf',d]); os.makedirs(d)
    err=open('/tmp/hostile-%d.err'%port,'wb')
    p=subprocess.Popen([FERRY,'receive','--listen','127.0.0.1:%d'%port,'--dir',d,*extra],stderr=err)
    for i in range(100):
        try: socket.create_connection(('127.0.0.1',port)).close(); break
        except OSError: time.sleep(0.05)
    return p,d
def rss(pid):
    try: return int([l for l in open('/proc/%d/status'%pid) if l.startswith('VmHWM')][0].split()[1])//1024
    except Exception: return -1
extra=['--insecure','--state-dir','/tmp/hostile-state'] if VER>=3 else []
res={}
# 1 oversized PREFLIGHT
p,d=start(7801,extra); c=socket.create_connection(('127.0.0.1',7801)); c.sendall(hello()); recv_frame(c)
body=struct.pack('<QI',0,500000)
ent=s(b'/x')+struct.pack('<QIB',0,0,0)
body+=ent*((8*1024*1024-32)//len(ent))
c.sendall(frame(2,body)); time.sleep(4)
peak=max(rss(p.pid), max([rss(int(x)) for x in subprocess.run(['pgrep','-P',str(p.pid)],capture_output=True,text=True).stdout.split()] or [0]))
res['oversized PREFLIGHT: receiver peak RSS MiB']=peak
c.close(); p.kill(); p.wait()
# 2 idle peer blocks a second HELLO
p,d=start(7802,extra); a=socket.create_connection(('127.0.0.1',7802)); a.sendall(hello()); recv_frame(a)
b=socket.create_connection(('127.0.0.1',7802)); b.sendall(hello())
try: r=recv_frame(b,3)
except socket.timeout: r=None
res['second HELLO answered while a peer idles']= r is not None and r[0]==1
a.close(); b.close(); p.kill(); p.wait()
# 3 escape sequences + 4 pages after a failed pre-flight + 5 size oracle
p,d=start(7803,extra); c=socket.create_connection(('127.0.0.1',7803)); c.sendall(hello(b'evil\x1b[2Jhost')); recv_frame(c)
pf=struct.pack('<QI',0,1)+s(b'/etc/shadow')+struct.pack('<QIB',1,1,0)+struct.pack('<II',1,1)
c.sendall(frame(2,pf)); t,ans=recv_frame(c)
res['pre-flight answer tells /etc/shadow size']= (b'here %d'%os.stat('/etc/shadow').st_size) in ans
c.sendall(frame(4,struct.pack('<IQIIB',1,0x10000,1,4096,0)+b'A'*4096))
c.sendall(frame(5,struct.pack('<IQQQQQI',0,1,4096,4096,1,1,0)))
try: r=recv_frame(c,3)
except socket.timeout: r=None
res['pages accepted after a failed pre-flight (ROUND_ACK)']= r is not None and r[0]==6
time.sleep(0.5)
res['files written to --dir']=sum(len(f) for _,_,f in os.walk(d))
c.close(); time.sleep(0.5); p.kill(); p.wait()
res['raw ESC in the receiver log']= b'\x1b' in open('/tmp/hostile-7803.err','rb').read()
for k,v in res.items(): print('%-55s %s'%(k,v))
