import json, os
OUT = os.path.dirname(os.path.abspath(__file__))  # this folder, wherever the checkout is
TAG = {"tag": [{"system": "https://utilreview.example/test", "code": "synthetic",
                "display": "synthetic test fixture written by hand, not real patient data"}]}
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
MSDRG = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"
HL7DRG = "http://terminology.hl7.org/CodeSystem/ex-diagnosisrelatedgroup"
def bundle(name, resources, note, type="collection"):
    b = {"resourceType": "Bundle", "id": "synthetic-" + name, "meta": TAG, "type": type,
         "entry": []}
    for r in resources:
        e = {}
        if isinstance(r, tuple):
            e["fullUrl"], r = r
        e["resource"] = r
        if type == "transaction":
            e["request"] = {"method": "POST", "url": r["resourceType"]}
        b["entry"].append(e)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(b, f, indent=1)
    notes.append("- `%s.json`: %s" % (name, note))
notes = []
def pat(id, **kw):
    r = {"resourceType": "Patient", "id": id}; r.update(kw); return r
def enc(id, cls, start=None, end=None, status="finished", subject="Patient/p1", **kw):
    r = {"resourceType": "Encounter", "id": id, "status": status,
         "class": {"system": ACT, "code": cls}}
    if subject: r["subject"] = {"reference": subject}
    if start or end:
        r["period"] = {}
        if start: r["period"]["start"] = start
        if end: r["period"]["end"] = end
    r.update(kw); return r
def hist(cls, start=None, end=None):
    p = {}
    if start: p["start"] = start
    if end: p["end"] = end
    return {"class": {"system": ACT, "code": cls}, "period": p}
def claim(id, patient="Patient/p1", **kw):
    r = {"resourceType": "Claim", "id": id, "status": "active",
         "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
         "use": "claim", "patient": {"reference": patient} if patient else {"identifier": {"system": "urn:example:national", "value": "N-1"}}, "created": "2024-03-10T12:00:00-05:00",
         "provider": {"reference": "Organization/hospital"},
         "priority": {"coding": [{"code": "normal"}]},
         "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "private"}}]}
    r.update(kw); return r
def item(seq, code="99223", system="http://www.ama-assn.org/go/cpt", enc=None, **kw):
    it = {"sequence": seq, "productOrService": {"coding": [{"system": system, "code": code}]}}
    if enc: it["encounter"] = [{"reference": enc}]
    it.update(kw); return it
def org(id, name=None, ident=None):
    r = {"resourceType": "Organization", "id": id}
    if name: r["name"] = name
    if ident: r["identifier"] = [{"system": ident[0], "value": ident[1]}]
    return r
def cov(id, payor, period=None, beneficiary="Patient/p1", **kw):
    r = {"resourceType": "Coverage", "id": id, "status": "active",
         "beneficiary": {"reference": beneficiary}, "payor": payor}
    if period: r["period"] = period
    r.update(kw); return r

# --- segments ---
bundle("segments", [
    pat("p1"),
    # classHistory out of order, EMER open (filled by OBSENC start), class IMP continues from OBSENC end.
    enc("hist-sorted", "IMP", "2024-03-01T08:00:00-05:00", "2024-03-04T10:00:00-05:00", classHistory=[
        hist("OBSENC", "2024-03-01T12:00:00-05:00", "2024-03-02T09:00:00-05:00"),
        hist("EMER", "2024-03-01T08:00:00-05:00")]),
    # last history class equals the current one and is open: it lasts to the end of the stay.
    enc("hist-same", "IMP", "2024-03-05T08:00:00-05:00", "2024-03-07T11:00:00-05:00", classHistory=[
        hist("EMER", "2024-03-05T08:00:00-05:00", "2024-03-05T10:00:00-05:00"),
        hist("IMP", "2024-03-05T10:00:00-05:00")]),
    # in progress: the open segment stays open.
    enc("hist-open", "OBSENC", "2024-03-08T10:00:00-05:00", status="in-progress", classHistory=[
        hist("OBSENC", "2024-03-08T10:00:00-05:00")]),
    # no class history: one segment over the period.
    enc("no-hist", "EMER", "2024-03-09T10:00:00-05:00", "2024-03-09T14:00:00-05:00"),
    # ACUTE is an inpatient class too.
    enc("acute", "ACUTE", "2024-03-10T10:00:00-05:00", "2024-03-12T14:00:00-05:00", classHistory=[
        hist("EMER", "2024-03-10T10:00:00-05:00", "2024-03-10T16:00:00-05:00")]),
    # inpatient changed to observation (condition code 44 case).
    enc("imp-to-obs", "OBSENC", "2024-03-13T10:00:00-05:00", "2024-03-14T14:00:00-05:00", classHistory=[
        hist("IMP", "2024-03-13T10:00:00-05:00", "2024-03-13T20:00:00-05:00")]),
], "class timelines from Encounter.classHistory (unsorted, open ends, current class continuing, in progress) and without it")

# --- times ---
bundle("times", [
    pat("p1"),
    enc("offset", "IMP", "2024-03-09T22:00:00-08:00", "2024-03-11T09:00:00Z"),
    enc("no-offset", "IMP", "2024-03-10T01:30:00", "2024-03-10T03:30:00"),
    enc("partial", "IMP", "2024-03-10", "2024-03-12"),
    enc("month", "IMP", "2024-03", "2024-04"),
    # end is a date on the start's day: not before the start at the end's precision.
    enc("end-date-same-day", "IMP", "2024-03-10T10:00:00", "2024-03-10"),
    # an ED visit recorded as part of the inpatient stay: partOf by urn:uuid, a reference as written
    ("urn:uuid:6c1f3c52-5d0e-4c7e-9a43-0d5b2a1e7f10", enc("ed-part", "EMER", "2024-03-09T20:00:00", "2024-03-10T01:00:00",
        partOf={"reference": "Encounter/offset"})),
    # partOf by the urn:uuid fullUrl of an encounter with an id: resolved to Encounter/ed-part
    enc("triage-part", "EMER", "2024-03-09T19:30:00", "2024-03-09T20:00:00",
        partOf={"reference": "urn:uuid:6c1f3c52-5d0e-4c7e-9a43-0d5b2a1e7f10"}),
], "FHIR dateTimes with offsets, without offsets and partial dates, read in America/New_York")

# --- payers ---
bundle("payers", [
    pat("p1"),
    org("payer-id", "Acme Health Plan", ("http://hl7.org/fhir/sid/us-npi", "1234567893")),
    org("payer-name", "Blue Example"),
    org("payer-acct", "Account Payer", ("urn:oid:2.16.840.1.113883.3.221.5", "ACCT-1")),
    org("payer-2023", "Old Payer", ("urn:example:payer", "OLD")),
    org("payer-2024", "New Payer", ("urn:example:payer", "NEW")),
    # reached through claims and the account only: another patient's, so the
    # Coverage-period route never picks them for p1
    cov("cov-id", [{"reference": "Organization/payer-id"}], beneficiary="Patient/p-other"),
    cov("cov-name", [{"reference": "Organization/payer-name"}], beneficiary="Patient/p-other"),
    cov("cov-acct", [{"reference": "Organization/payer-acct"}], beneficiary="Patient/p-other"),
    cov("cov-2023", [{"reference": "Organization/payer-2023"}], {"start": "2023-01-01", "end": "2023-12-31"}),
    cov("cov-2024", [{"reference": "Organization/payer-2024"}], {"start": "2024-06-01", "end": "2024-12-31"}),
    cov("cov-ident", [{"identifier": {"system": "urn:example:payer", "value": "IDENT-ONLY"}, "display": "Ident Plan"}],
        {"start": "2030-01-01", "end": "2030-12-31"}),
    cov("cov-self", [{"reference": "Patient/p1"}], {"start": "2031-01-01"}),
    {"resourceType": "Account", "id": "acct-1", "status": "active",
     "coverage": [{"coverage": {"reference": "Coverage/cov-name"}, "priority": 2},
                  {"coverage": {"reference": "Coverage/cov-acct"}, "priority": 1}]},
    enc("via-claim-id", "IMP", "2024-02-01T10:00:00Z", "2024-02-03T10:00:00Z"),
    enc("via-claim-name", "IMP", "2024-02-05T10:00:00Z", "2024-02-07T10:00:00Z"),
    enc("via-account", "IMP", "2024-02-08T10:00:00Z", "2024-02-09T10:00:00Z",
        account=[{"reference": "Account/acct-1"}]),
    enc("via-coverage-period", "IMP", "2024-06-01T10:00:00Z", "2024-06-03T10:00:00Z"),
    enc("via-display", "IMP", "2024-02-10T10:00:00Z", "2024-02-12T10:00:00Z"),
    enc("no-insurance", "IMP", "2024-02-13T10:00:00Z", "2024-02-14T10:00:00Z"),
    enc("via-eob", "IMP", "2024-02-15T10:00:00Z", "2024-02-16T10:00:00Z"),
    enc("account-beats-display", "IMP", "2024-02-17T10:00:00Z", "2024-02-18T10:00:00Z",
        account=[{"reference": "Account/acct-1"}]),
    enc("nothing", "IMP", "2022-06-01T10:00:00Z", "2022-06-02T10:00:00Z"),
    enc("via-payor-identifier", "IMP", "2030-06-01T10:00:00Z", "2030-06-02T10:00:00Z"),
    enc("self-pay", "IMP", "2031-06-01T10:00:00Z", "2031-06-02T10:00:00Z"),
    claim("c-id", item=[item(1, enc="Encounter/via-claim-id")],
          insurance=[{"sequence": 2, "focal": False, "coverage": {"reference": "Coverage/cov-name"}},
                     {"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov-id"}}]),
    claim("c-name", item=[item(1, enc="Encounter/via-claim-name")],
          insurance=[{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov-name"}}]),
    claim("c-display", item=[item(1, enc="Encounter/via-display")],
          insurance=[{"sequence": 1, "focal": True, "coverage": {"display": "medicare"}}]),
    claim("c-noins", item=[item(1, enc="Encounter/no-insurance")],
          insurance=[{"sequence": 1, "focal": True, "coverage": {"display": "no_insurance"}}]),
    claim("c-eob", item=[item(1, enc="Encounter/via-eob")],
          insurance=[{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/not-in-input"}}]),
    {"resourceType": "ExplanationOfBenefit", "id": "eob-1", "status": "active",
     "contained": [{"resourceType": "Coverage", "id": "coverage", "status": "active", "type": {"text": "medicaid"},
                    "beneficiary": {"reference": "Patient/p1"}, "payor": [{"display": "medicaid"}]}],
     "type": {"coding": [{"code": "institutional"}]}, "use": "claim", "patient": {"reference": "Patient/p1"},
     "created": "2024-02-16T10:00:00Z", "insurer": {"display": "medicaid"}, "provider": {"reference": "Organization/hospital"},
     "claim": {"reference": "Claim/c-eob"}, "outcome": "complete",
     "insurance": [{"focal": True, "coverage": {"reference": "#coverage", "display": "medicaid"}}]},
    claim("c-prefer", item=[item(1, enc="Encounter/account-beats-display")],
          insurance=[{"sequence": 1, "focal": True, "coverage": {"display": "private"}}]),
], "payer of a stay through Claim -> Coverage -> Organization (identifier, name), Account, Coverage period, display text, no_insurance, the Coverage contained in an ExplanationOfBenefit, payor identifier, self-pay")

# --- claims ---
bundle("claims", [
    pat("p1"),
    enc("e-item", "IMP", "2024-04-01T10:00:00Z", "2024-04-04T10:00:00Z"),
    enc("e-ext", "IMP", "2024-04-05T10:00:00Z", "2024-04-07T10:00:00Z"),
    enc("e-info", "IMP", "2024-04-08T10:00:00Z", "2024-04-09T10:00:00Z"),
    enc("e-hl7", "IMP", "2024-04-10T10:00:00Z", "2024-04-11T10:00:00Z"),
    {"resourceType": "Condition", "id": "cond-chf", "subject": {"reference": "Patient/p1"},
     "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I50.9"}]}},
    {"resourceType": "Procedure", "id": "proc-1", "status": "completed", "subject": {"reference": "Patient/p1"},
     "code": {"coding": [{"system": "http://www.cms.gov/Medicare/Coding/ICD10", "code": "02703ZZ"}]},
     "performedDateTime": "2024-04-02T09:00:00Z"},
    claim("c-item", identifier=[{"system": "urn:example:claims", "value": "C-1"}],
          billablePeriod={"start": "2024-04-01T10:00:00Z", "end": "2024-04-04T10:00:00Z"},
          diagnosis=[
              {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J18.9"}]}},
              {"sequence": 2, "diagnosisReference": {"reference": "Condition/cond-chf"},
               "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "code": "principal"}]}],
               "packageCode": {"coding": [{"system": MSDRG, "code": "291"}]}}],
          procedure=[{"sequence": 1, "procedureReference": {"reference": "Procedure/proc-1"}},
                     {"sequence": 2, "date": "2024-04-03", "procedureCodeableConcept": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "33533"}]}}],
          insurance=[{"sequence": 1, "focal": True, "coverage": {"display": "medicare"}, "preAuthRef": ["PA-1", "PA-2"]}],
          item=[
              item(1, "99223", enc="Encounter/e-item", servicedDate="2024-04-01",
                   modifier=[{"coding": [{"code": "25"}]}, {"coding": [{"code": "59"}]}],
                   quantity={"value": 2.5}, revenue={"coding": [{"system": "https://www.nubc.org/CodeSystem/RevenueCodes", "code": "0450"}]}),
              item(2, "J0585", system="https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
                   servicedPeriod={"start": "2024-04-02T08:00:00Z", "end": "2024-04-03T08:00:00Z"}),
              item(3, "64612")]),
    claim("c-ext", extension=[{"url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-Claim.encounter",
                               "valueReference": {"reference": "Encounter/e-ext"}}],
          supportingInfo=[{"sequence": 1, "category": {"coding": [{"code": "drg"}]},
                           "code": {"coding": [{"system": HL7DRG, "code": "400"}, {"system": MSDRG, "code": "470"}]}}],
          diagnosis=[{"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"code": "A"}]}},
                     {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "B"}]}}]),
    claim("c-info", created="2024-04-09T12:00:00Z",
          supportingInfo=[{"sequence": 1, "category": {"coding": [{"code": "info"}]},
                           "valueReference": {"reference": "Encounter/e-info"}}],
          related=[{"claim": {"reference": "Claim/c-item"}, "relationship": {"coding": [{"code": "prior"}]}},
                   {"claim": {"reference": "Claim/c-ext"}, "relationship": {"coding": [{"code": "associated"}]}}]),
    claim("c-hl7", item=[item(1, enc="Encounter/e-hl7")],
          diagnosis=[{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "X"}]},
                      "packageCode": {"coding": [{"system": HL7DRG, "code": "100"}]}}]),
    claim("c-none", created="2024-04-12T12:00:00Z", item=[item(1, enc="Encounter/not-in-input")]),
    claim("c-preauth", use="preauthorization", created="2024-03-01T12:00:00Z"),
    {"resourceType": "ClaimResponse", "id": "cr-1", "status": "active", "type": {"coding": [{"code": "institutional"}]},
     "use": "claim", "patient": {"reference": "Patient/p1"}, "created": "2024-05-01", "insurer": {"display": "x"},
     "request": {"reference": "Claim/c-item"}, "outcome": "complete"},
    {"resourceType": "ExplanationOfBenefit", "id": "eob-partial", "status": "active", "type": {"coding": [{"code": "institutional"}]},
     "use": "claim", "patient": {"reference": "Patient/p1"}, "created": "2024-05-01", "insurer": {"display": "x"},
     "provider": {"reference": "Organization/hospital"}, "claim": {"reference": "Claim/c-ext"}, "outcome": "partial",
     "insurance": [{"focal": True, "coverage": {"display": "private"}}]},
    {"resourceType": "ClaimResponse", "id": "cr-queued", "status": "active", "type": {"coding": [{"code": "institutional"}]},
     "use": "claim", "patient": {"reference": "Patient/p1"}, "created": "2024-05-01", "insurer": {"display": "x"},
     "request": {"reference": "Claim/c-info"}, "outcome": "queued"},
], "Claim -> Encounter through item.encounter, the R5 Claim.encounter extension and supportingInfo; MS-DRG vs the HL7 example DRG system; lines; related; acceptance")

# --- diagnoses ---
bundle("diagnoses", [
    pat("p1"),
    {"resourceType": "Condition", "id": "c-rank1", "subject": {"reference": "Patient/p1"},
     "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I21.4"}]}},
    {"resourceType": "Condition", "id": "c-billing", "subject": {"reference": "Patient/p1"},
     "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J44.1"}]}},
    {"resourceType": "Condition", "id": "c-secondary", "subject": {"reference": "Patient/p1"},
     "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}]}},
    {"resourceType": "Condition", "id": "c-in-stay", "subject": {"reference": "Patient/p1"},
     "encounter": {"reference": "Encounter/e-rank"},
     "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N17.9"}]}},
    {"resourceType": "Procedure", "id": "pr-in-stay", "status": "completed", "subject": {"reference": "Patient/p1"},
     "encounter": {"reference": "Encounter/e-rank"},
     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "232717009"}]},
     "performedPeriod": {"start": "2024-05-02T09:00:00Z", "end": "2024-05-02T11:00:00Z"}},
    enc("e-rank", "IMP", "2024-05-01T10:00:00Z", "2024-05-04T10:00:00Z", diagnosis=[
        {"condition": {"reference": "Condition/c-secondary"}, "rank": 2},
        {"condition": {"reference": "Condition/c-rank1"}, "rank": 1}]),
    enc("e-billing", "IMP", "2024-05-05T10:00:00Z", "2024-05-06T10:00:00Z", diagnosis=[
        {"condition": {"reference": "Condition/c-billing"},
         "use": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": "billing"}]}}]),
    enc("e-reason", "IMP", "2024-05-07T10:00:00Z", "2024-05-08T10:00:00Z",
        reasonCode=[{"coding": [{"system": "http://snomed.info/sct", "code": "233604007", "display": "Pneumonia"}]}]),
], "diagnoses from Encounter.diagnosis (rank, use), Conditions of the stay, reasonCode when nothing else; Procedures of the stay")

# --- work ---
bundle("work", [
    pat("p1"),
    org("payer", "Acme"),
    enc("e1", "IMP", "2024-06-01T10:00:00Z", "2024-06-03T10:00:00Z"),
    ("urn:uuid:7b0e3c9e-0000-4000-8000-000000000001",
     {"resourceType": "Task", "identifier": [{"system": "https://utilreview.example/task", "value": "admission-notification.abc"}],
      "status": "completed", "intent": "order",
      "code": {"coding": [{"system": "https://utilreview.example/CodeSystem/checks", "code": "admission-notification"}]},
      "focus": {"reference": "Encounter/e1"}, "for": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"}}),
    {"resourceType": "Task", "id": "t-nostatus", "intent": "order", "focus": {"reference": "Encounter/e1"}},
    {"resourceType": "Task", "id": "t-orphan", "status": "requested", "intent": "order"},
    {"resourceType": "Communication", "id": "comm-1", "status": "completed",
     "category": [{"coding": [{"system": "https://utilreview.example/CodeSystem/categories", "code": "payer-notification"}]}],
     "subject": {"reference": "Patient/p1"}, "about": [{"reference": "Encounter/e1"}, {"reference": "http://example.org/fhir/Claim/c9/_history/2"}],
     "encounter": {"reference": "Encounter/e1"}, "sent": "2024-06-01T15:00:00Z",
     "recipient": [{"reference": "Organization/payer"}], "basedOn": [{"reference": "CommunicationRequest/cr1"}]},
], "Tasks and Communications already present (ids from urn:uuid fullUrl, missing status, no patient)")

# --- identity ---
bundle("identity", [
    ("urn:uuid:11111111-2222-4333-8444-555555555555",
     {"resourceType": "Patient", "identifier": [
         {"use": "usual", "system": "urn:example:mrn", "value": "MRN-1"},
         {"use": "official", "system": "urn:example:national", "value": "N-1"}],
      "deceasedDateTime": "2024-07-03T04:00:00Z"}),
    ("urn:uuid:66666666-2222-4333-8444-555555555555",
     {"resourceType": "Encounter", "status": "finished", "class": {"system": ACT, "code": "IMP"},
      "identifier": [{"value": "no-system"}, {"system": "urn:example:visit", "value": "V-1"}],
      "subject": {"reference": "urn:uuid:11111111-2222-4333-8444-555555555555"},
      "period": {"start": "2024-07-01T10:00:00Z", "end": "2024-07-03T04:00:00Z"}}),
    pat("p2", deceasedBoolean=True),
    enc("e2", "AMB", "2024-07-05T10:00:00Z", "2024-07-05T11:00:00Z", subject="Patient/p2"),
    # a patient only referenced, before its first appearance as a resource would be
    enc("e3", "AMB", "2024-07-06T10:00:00Z", "2024-07-06T11:00:00Z", subject="http://example.org/fhir/Patient/p3"),
    claim("c-logical", patient=None),
    # no id: the id comes from the RESTful fullUrl
    ("http://example.org/fhir/Encounter/rest-1",
     {"resourceType": "Encounter", "status": "finished", "class": {"system": ACT, "code": "AMB"},
      "subject": {"reference": "Patient/p2"}, "period": {"start": "2024-07-07T10:00:00Z"}}),
], "stable keys and references: ids from urn:uuid fullUrls, official identifiers, absolute and logical references, deceased")

# --- noids: a transaction Bundle of POST entries without ids ---
U = "urn:uuid:0000000%d-aaaa-4bbb-8ccc-dddddddddddd"
bundle("noids", [
    (U % 1, {"resourceType": "Patient", "identifier": [{"system": "urn:example:mrn", "value": "MRN-9"}]}),
    (U % 2, {"resourceType": "Encounter", "status": "finished", "class": {"system": ACT, "code": "IMP"},
             "identifier": [{"system": "urn:example:visit", "value": "V-9"}],
             "subject": {"reference": U % 1}, "period": {"start": "2024-09-01T10:00:00Z", "end": "2024-09-03T10:00:00Z"}}),
    # neither id nor identifier: cannot be referenced, left out
    (U % 3, {"resourceType": "Encounter", "status": "finished", "class": {"system": ACT, "code": "IMP"},
             "subject": {"reference": U % 1}, "period": {"start": "2024-09-05T10:00:00Z", "end": "2024-09-06T10:00:00Z"}}),
    (U % 4, {"resourceType": "Claim", "status": "active", "use": "claim", "created": "2024-09-04T10:00:00Z",
             "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
             "patient": {"reference": U % 1}, "item": [{"sequence": 1, "encounter": [{"reference": U % 2}],
             "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99223"}]}}]}),
    (U % 5, {"resourceType": "Patient", "birthDate": "1950-01-01"}),
    (U % 6, {"resourceType": "Encounter", "status": "finished", "class": {"system": ACT, "code": "AMB"},
             "identifier": [{"system": "urn:example:visit", "value": "V-10"}],
             "subject": {"reference": U % 5}, "period": {"start": "2024-09-07T10:00:00Z", "end": "2024-09-07T11:00:00Z"}}),
], "a transaction Bundle of POST entries without ids: resources known by identifier, or left out with a problem", type="transaction")

# --- problems ---
nostatus = enc("no-status", "IMP", "2024-08-01T10:00:00Z"); del nostatus["status"]
noclass = enc("no-class", "IMP", "2024-08-01T10:00:00Z"); del noclass["class"]
claimnopat = claim("c-no-patient"); del claimnopat["patient"]
claimnostatus = claim("c-no-status"); del claimnostatus["status"]
bundle("problems", [
    pat("p1"),
    nostatus, noclass,
    enc("end-before-start", "IMP", "2024-08-02T10:00:00Z", "2024-08-01T10:00:00Z"),
    enc("bad-date", "IMP", "2024-13-01T10:00:00Z"),
    enc("open-mismatch", "IMP", "2024-08-03T10:00:00Z", classHistory=[hist("OBSENC", "2024-08-03T10:00:00Z")], status="in-progress"),
    enc("no-subject", "IMP", "2024-08-04T10:00:00Z", subject=None),
    claimnopat, claimnostatus,
    claim("c-bad-created", created="yesterday"),
    claim("c-bad-line", item=[item(1, servicedPeriod={"start": "2024-08-05", "end": "2024-08-04"})]),
    enc("good", "IMP", "2024-08-06T10:00:00Z", "2024-08-07T10:00:00Z"),
    {"resourceType": "Encounter", "status": "finished", "class": {"system": ACT, "code": "IMP"},
     "subject": {"reference": "Patient/p1"}},
], "one bad input per resource: missing status, class, patient, id; end before start; unparseable dates")
with open(os.path.join(OUT, "PROVENANCE.md"), "w") as f:
    f.write("# Test fixtures of service/facts\n\nAll files here are SYNTHETIC: written by hand for these tests "
            "(generated by fixtures.py in this folder, then committed), not taken from any patient or from the shared data. "
            "Each Bundle carries the meta.tag `https://utilreview.example/test#synthetic` saying so.\n\n" + "\n".join(notes) + "\n")
