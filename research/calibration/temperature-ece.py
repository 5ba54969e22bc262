"""Issue 24: can a temperature fitted elsewhere bring the external ECE to the 0.05 target?

Recovers each run's logits (up to a per-row constant) from its saved calibrated probabilities and temperature
(runs/<run>/predictions.json; test not read), fits the temperature by NLL on HAM10000 validation, on validation +
external pooled and on external alone, and prints the 15-bin ECE on both sets; then the temperature that minimises
the external ECE itself.

    python3 research/calibration/temperature-ece.py r5-mix05 r7-seed7
"""
import json,sys,numpy as np
def load(run):
    p=json.load(open(f'runs/{run}/predictions.json'));T=p['temperature']
    out={}
    for k in ['val','external']:
        pr=np.array(p[k]['probs'],dtype=np.float64); y=np.array(p[k]['labels'])
        out[k]=(np.log(np.clip(pr,1e-12,1))*T,y)
    return T,out
def sm(z,T):
    z=z/T; z=z-z.max(1,keepdims=True); e=np.exp(z); return e/e.sum(1,keepdims=True)
def ece(p,y,bins=15):
    c=p.max(1); pred=p.argmax(1); acc=(pred==y); e=0
    edges=np.linspace(0,1,bins+1)
    for i in range(bins):
        m=(c>edges[i])&(c<=edges[i+1])
        if m.any(): e+=m.mean()*abs(acc[m].mean()-c[m].mean())
    return e
def nll(z,y,T): p=sm(z,T); return -np.log(p[np.arange(len(y)),y]+1e-12).mean()
def fitT(zs,ys):
    Ts=np.exp(np.linspace(np.log(0.2),np.log(5),400))
    return min(Ts,key=lambda T: sum(nll(z,y,T)*len(y) for z,y in zip(zs,ys)))
for run in sys.argv[1:]:
    T,d=load(run)
    zv,yv=d['val']; ze,ye=d['external']
    Tv=fitT([zv],[yv]); Tp=fitT([zv,ze],[yv,ye]); Te=fitT([ze],[ye])
    for name,t in [('stored',T),('val',Tv),('pooled',Tp),('ext',Te)]:
        print(f'{run:10s} T_{name}={t:.3f} ECE val={ece(sm(zv,t),yv):.3f} ext={ece(sm(ze,t),ye):.3f}')
print('---')
for run in sys.argv[1:]:
    T,d=load(run); ze,ye=d['external']; zv,yv=d['val']
    p=sm(ze,T); print(run,'ext mean conf',p.max(1).mean().round(3),'acc',(p.argmax(1)==ye).mean().round(3))
    Ts=np.exp(np.linspace(np.log(0.3),np.log(5),200))
    best=min(Ts,key=lambda t: ece(sm(ze,t),ye)); print(' ECE-min T on ext',best.round(3),'ext',ece(sm(ze,best),ye).round(3),'val',ece(sm(zv,best),yv).round(3))
