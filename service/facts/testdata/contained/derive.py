# Derives the fixtures of this folder from the HL7 FHIR R4 example
# Claim-MED-00050 (the repository's copy of the shared data,
# testdata/shared/data/fhir-r4-examples/Claim-MED-00050.json).
# Each copy gets its own claim id and a different SYNTHETIC contained patient
# (invented name and birth date), and carries the meta.tag
# https://utilreview.example/test#synthetic.
import copy, json, os
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "../../../../testdata/shared/data/fhir-r4-examples/Claim-MED-00050.json")
TAG = {"tag": [{"system": "https://utilreview.example/test", "code": "synthetic",
                "display": "synthetic test fixture derived from the HL7 example Claim-MED-00050, modified"}]}
src = json.load(open(SRC))

def derive(name, claim_id, family, given, birth, mrn=None):
    c = copy.deepcopy(src)
    c["id"] = claim_id
    c["meta"] = TAG
    c["identifier"][0]["value"] = claim_id
    p = next(r for r in c["contained"] if r["resourceType"] == "Patient")
    p["name"][0]["family"], p["name"][0]["given"] = family, [given]
    p["birthDate"] = birth
    if mrn:
        p["identifier"] = [{"system": "https://hospital.example/mrn", "value": mrn}]
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(c, f, indent=1)

# two people, each the contained #patient-1 of their claim, no identifier
derive("claim-a.json", "MED-A", "Example", "Ann", "1950-01-01")
derive("claim-b.json", "MED-B", "Sample", "Bob", "1960-02-02")
# the same person (same MRN) contained in two claims
derive("claim-c.json", "MED-C", "Example", "Cy", "1945-03-03", mrn="MRN-SYN-1")
derive("claim-d.json", "MED-D", "Example", "Cy", "1945-03-03", mrn="MRN-SYN-1")
