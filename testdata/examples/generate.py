import json
NUBC="http://www.nubc.org/patient-discharge"
ACT="http://terminology.hl7.org/CodeSystem/v3-ActCode"
ICD="http://hl7.org/fhir/sid/icd-10-cm"
CPT="http://www.ama-assn.org/go/cpt"
HCPCS="https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
DRG="https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"
MRN="urn:oid:2.16.840.1.113883.19.5.99999.1"  # example hospital MRN system (HL7 example OID arc)
ENC="urn:oid:2.16.840.1.113883.19.5.99999.2"
CLM="urn:oid:2.16.840.1.113883.19.5.99999.3"
res=[]
def org(id,name,ident=None):
    o={"resourceType":"Organization","id":id,"active":True,"name":name,
       "type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"pay"}]}]}
    if ident: o["identifier"]=[{"system":ident[0],"value":ident[1]}]
    res.append(o)
# Obviously synthetic names, one per patient, so that the coordinator's table tells them apart.
GIVEN={"p1":"Alma","p2":"Bruno","p3":"Cora","p4":"Dmitri","p5":"Elena","p6":"Farid","p7":"Greta","p8":"Hugo"}
def patient(id,born,mrn):
    res.append({"resourceType":"Patient","id":id,
        "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":MRN,"value":mrn}],
        "name":[{"use":"official","family":"Example","given":[GIVEN.get(id,"Synthetic")]}],"gender":"unknown","birthDate":born})
def coverage(id,pat,payor,start="2026-01-01"):
    res.append({"resourceType":"Coverage","id":id,"status":"active","beneficiary":{"reference":"Patient/"+pat},
        "period":{"start":start},"payor":[{"reference":"Organization/"+payor}]})
def enc(id,pat,cls,status,start,end=None,hist=None,disp=None,dx=None,cov=None):
    e={"resourceType":"Encounter","id":id,"identifier":[{"system":ENC,"value":"V"+id.upper()}],"status":status,
       "class":{"system":ACT,"code":cls},"subject":{"reference":"Patient/"+pat},
       "period":{"start":start}}
    if end: e["period"]["end"]=end
    if hist: e["classHistory"]=[{"class":{"system":ACT,"code":c},"period":({"start":s,"end":t} if t else {"start":s})} for c,s,t in hist]
    if disp: e["hospitalization"]={"dischargeDisposition":{"coding":[{"system":NUBC,"code":disp}]}}
    if dx: e["reasonCode"]=[{"coding":[{"system":ICD,"code":dx}]}]
    res.append(e)
def claim(id,pat,typ,created,items,enc=None,cov=None,drg=None,dx=None,bp=None,preauth=None,status="active"):
    c={"resourceType":"Claim","id":id,"identifier":[{"system":CLM,"value":"C"+id.upper()}],"status":status,
       "type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":typ}]},
       "use":"claim","patient":{"reference":"Patient/"+pat},"created":created,
       "provider":{"reference":"Organization/hosp"},
       "priority":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/processpriority","code":"normal"}]},
       "insurance":[{"sequence":1,"focal":True,"coverage":{"reference":"Coverage/"+cov}}],"item":[]}
    if preauth: c["insurance"][0]["preAuthRef"]=[preauth]
    if bp: c["billablePeriod"]={"start":bp[0],"end":bp[1]}
    if dx: c["diagnosis"]=[{"sequence":1,"diagnosisCodeableConcept":{"coding":[{"system":ICD,"code":dx}]},
        "type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/ex-diagnosistype","code":"principal"}]}]}]
    if drg:
        c["supportingInfo"]=[{"sequence":1,"category":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claiminformationcategory","code":"info"}]},
            "code":{"coding":[{"system":DRG,"code":drg}]}}]
    for i,(sys,code,units,date,mods) in enumerate(items):
        it={"sequence":i+1,"productOrService":{"coding":[{"system":sys,"code":code}]},"servicedDate":date}
        if units!=1: it["quantity"]={"value":units}
        if mods: it["modifier"]=[{"coding":[{"system":CPT,"code":m}]} for m in mods]
        if enc: it["encounter"]=[{"reference":"Encounter/"+enc}]
        c["item"].append(it)
    res.append(c)

res.append({"resourceType":"Organization","id":"hosp","active":True,"name":"Example General Hospital (synthetic)"})
org("medicare","Medicare")
org("acme","Acme Health Plan")
org("capital","Capital Insurance Company")
org("medicaid","State Medicaid (fictional)")

# 1. Medicare inpatient, in progress, heart failure, DRG 291: GMLOS, continued stay, IM, HRRP index later
patient("p1","1948-03-02","MRN1001"); coverage("cov-p1","p1","medicare")
enc("e1","p1","IMP","in-progress","2026-11-14T20:10:00-05:00",hist=[("EMER","2026-11-14T20:10:00-05:00","2026-11-15T02:00:00-05:00"),("IMP","2026-11-15T02:00:00-05:00",None)],dx="I50.23")
claim("c1","p1","institutional","2026-11-19T08:00:00-05:00",[(CPT,"99223",1,"2026-11-15",None)],enc="e1",cov="cov-p1",drg="291",dx="I50.23",bp=("2026-11-15","2026-11-19"))
# outpatient lab two days before the admission, billed separately: payment window
claim("c1-lab","p1","institutional","2026-11-13T16:00:00-05:00",[(CPT,"80053",1,"2026-11-12",None),(CPT,"93005",1,"2026-11-12",None)],cov="cov-p1",bp=("2026-11-12","2026-11-12"))

# 2. Medicare: one-midnight inpatient stay, then a readmission discharged to a SNF after two inpatient midnights
patient("p2","1941-07-19","MRN1002"); coverage("cov-p2","p2","medicare")
enc("e2","p2","IMP","finished","2026-11-01T22:00:00-05:00","2026-11-02T15:30:00-05:00",disp="01",dx="J18.9")
enc("e3","p2","IMP","finished","2026-11-10T15:00:00-05:00","2026-11-12T14:00:00-05:00",
    hist=[("EMER","2026-11-10T15:00:00-05:00","2026-11-10T23:00:00-05:00"),("IMP","2026-11-10T23:00:00-05:00","2026-11-12T14:00:00-05:00")],disp="03",dx="J44.1")
claim("c2","p2","institutional","2026-11-03T09:00:00-05:00",[(CPT,"99221",1,"2026-11-01",None)],enc="e2",cov="cov-p2",dx="J18.9",bp=("2026-11-01","2026-11-02"))

# 3. Medicare observation stay past 48 hours
patient("p3","1950-11-30","MRN1003"); coverage("cov-p3","p3","medicare")
enc("e4","p3","OBSENC","in-progress","2026-11-18T09:00:00-05:00",dx="R07.9")

# 4. Medicare inpatient changed to observation (Condition Code 44)
patient("p4","1945-05-05","MRN1004"); coverage("cov-p4","p4","medicare")
enc("e5","p4","OBSENC","in-progress","2026-11-17T10:00:00-05:00",
    hist=[("IMP","2026-11-17T10:00:00-05:00","2026-11-18T09:00:00-05:00"),("OBSENC","2026-11-18T09:00:00-05:00",None)],dx="R55")

# 5. Commercial inpatient admitted early Friday: notification due Saturday, moved to Monday
patient("p5","1980-02-14","MRN1005"); coverage("cov-p5","p5","acme")
enc("e6","p5","IMP","in-progress","2026-11-20T03:00:00-05:00",dx="K35.80")

# 6. Inpatient stay with no coverage on file
patient("p6","1972-09-09","MRN1006")
enc("e7","p6","IMP","in-progress","2026-11-19T18:00:00-05:00",dx="S72.001A")

# 7. Medicare outpatient claims: botulinum toxin with 64612 without authorization, units over the MUE,
#    the same service billed twice, and an old claim past timely filing
patient("p7","1952-01-25","MRN1007"); coverage("cov-p7","p7","medicare")
claim("c7a","p7","institutional","2026-11-16T10:00:00-05:00",[(CPT,"64612",1,"2026-11-16",None),(HCPCS,"J0585",600,"2026-11-16",None)],cov="cov-p7",bp=("2026-11-16","2026-11-16"))
claim("c7b","p7","institutional","2026-11-17T10:00:00-05:00",[(CPT,"64612",1,"2026-11-16",None)],cov="cov-p7",bp=("2026-11-16","2026-11-16"))
claim("c7c","p7","professional","2025-12-01T10:00:00-05:00",[(CPT,"99213",1,"2025-11-10",None)],cov="cov-p7",bp=("2025-11-10","2025-11-10"))

# 8. Fictional commercial payer with the synthetic MUE table and a custom CEL check:
#    a heart-failure stay past day 5, and therapy units over the per-day MUE
patient("p8","1958-08-08","MRN1008"); coverage("cov-p8","p8","capital")
enc("e8","p8","IMP","in-progress","2026-11-13T14:00:00-05:00",dx="I50.9")
claim("c8","p8","professional","2026-11-18T10:00:00-05:00",[(CPT,"97110",8,"2026-11-17",None)],cov="cov-p8",bp=("2026-11-17","2026-11-17"))

b={"resourceType":"Bundle","id":"ur-scenarios","type":"collection","entry":[]}
for r in res:
    b["entry"].append({"fullUrl":"http://example.org/fhir/%s/%s"%(r["resourceType"],r["id"]),"resource":r})
json.dump(b,open("testdata/examples/ur-scenarios.json","w"),indent=1)
# The same resources as a transaction of PUT Type/id, to load a FHIR server with (outside testdata/examples,
# which `review` reads whole: a second copy there would double every finding).
t={"resourceType":"Bundle","id":"ur-scenarios-transaction","type":"transaction","entry":[]}
for r in res:
    t["entry"].append({"fullUrl":"http://example.org/fhir/%s/%s"%(r["resourceType"],r["id"]),"resource":r,"request":{"method":"PUT","url":"%s/%s"%(r["resourceType"],r["id"])}})
json.dump(t,open("testdata/fhir-server/ur-scenarios.transaction.json","w"),indent=1)
print(len(res))
