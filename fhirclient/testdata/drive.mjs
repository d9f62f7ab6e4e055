// Drives a running Contigo node with fhir-kit-client, the way a ministry's
// integration would: create, read, vread, update, search with paging,
// transaction, batch, $everything and $summary (GET and POST), conditional read,
// Prefer: return=minimal, conditional update, $export. Run by
// fhirclient_test.go with CONTIGO_BASE, CONTIGO_TOKEN and
// CONTIGO_EXPORT_TOKEN set; prints one line per step and exits 1 on the first
// failure.
import { Client } from 'fhir-kit-client';

const base = process.env.CONTIGO_BASE;
const token = process.env.CONTIGO_TOKEN;
const run = process.env.CONTIGO_RUN || String(Date.now());
if (!base || !token) {
  console.error('CONTIGO_BASE and CONTIGO_TOKEN are required');
  process.exit(2);
}

const client = new Client({ baseUrl: base, bearerToken: token });

function assert(cond, msg, detail) {
  if (!cond) {
    throw new Error(msg + (detail === undefined ? '' : ': ' + JSON.stringify(detail).slice(0, 2000)));
  }
}

// status returns the HTTP status of a rejected fhir-kit-client call.
async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (e) {
    if (e.response) return e.response.status;
    throw e;
  }
}

function patient(family, given, ident) {
  return {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:contigo:fhirclient', value: ident }],
    name: [{ family, given: [given] }],
    gender: 'female',
    birthDate: '2023-04-02',
  };
}

function weight(pid, date, kg, encounterRef) {
  const o = {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
    subject: { reference: pid },
    effectiveDateTime: date,
    valueQuantity: { value: kg, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
  if (encounterRef) o.encounter = { reference: encounterRef };
  return o;
}

const steps = [];
function step(name, fn) {
  steps.push({ name, fn });
}

// A fresh family name per run, so that searches count only this run's Patients.
const family = 'Fhirkit' + run.replace(/[^0-9a-z]/gi, '').slice(-10);
const state = {};

step('metadata', async () => {
  const cs = await client.capabilityStatement();
  assert(cs.resourceType === 'CapabilityStatement', 'metadata is not a CapabilityStatement', cs.resourceType);
});

step('create', async () => {
  const p = await client.create({ resourceType: 'Patient', body: patient(family, 'Ana', run + '-1') });
  assert(p.resourceType === 'Patient' && p.id, 'create returned no Patient', p);
  assert(p.meta && p.meta.versionId === '1', 'a new Patient is version 1', p.meta);
  state.pid = p.id;
  state.patient = p;
});

step('read and vread', async () => {
  const p = await client.read({ resourceType: 'Patient', id: state.pid });
  assert(p.id === state.pid && p.name[0].family === family, 'read returned another Patient', p);
  const v = await client.vread({ resourceType: 'Patient', id: state.pid, version: '1' });
  assert(v.meta.versionId === '1', 'vread 1', v.meta);
  assert((await status(client.read({ resourceType: 'Patient', id: 'nosuchpatient' }))) === 404, 'a missing Patient is 404');
});

step('update', async () => {
  const body = { ...state.patient, gender: 'male' };
  const p = await client.update({ resourceType: 'Patient', id: state.pid, body, options: { headers: { 'If-Match': 'W/"1"' } } });
  assert(p.meta.versionId === '2' && p.gender === 'male', 'update did not make version 2', p);
  const noId = { ...body };
  delete noId.id;
  delete noId.meta;
  assert((await status(client.update({ resourceType: 'Patient', id: state.pid, body: noId }))) === 400, 'a PUT without id is 400');
});

step('conditional read (304)', async () => {
  const s = await status(client.read({ resourceType: 'Patient', id: state.pid, options: { headers: { 'If-None-Match': 'W/"2"' } } }));
  assert(s === 304, 'If-None-Match of the current version', s);
});

step('create with Prefer: return=minimal', async () => {
  const r = await client.create({ resourceType: 'Patient', body: patient(family, 'Bea', run + '-2'), options: { headers: { Prefer: 'return=minimal' } } });
  const res = Client.httpFor(r).response;
  assert(res.status === 201 && Object.keys(r).length === 0, 'return=minimal answers no body', r);
  assert(/\/Patient\/[^/]+\/_history\/1$/.test(res.headers.get('location') || ''), 'Location', res.headers.get('location'));
});

step('search with paging', async () => {
  for (let i = 3; i <= 5; i++) {
    await client.create({ resourceType: 'Patient', body: patient(family, 'Child' + i, run + '-' + i) });
  }
  const seen = new Set();
  let page = await client.search({ resourceType: 'Patient', searchParams: { family, _count: 2 } });
  let pages = 0;
  while (page) {
    pages++;
    assert(page.resourceType === 'Bundle' && page.type === 'searchset', 'search answers a searchset', page);
    for (const e of page.entry || []) {
      if (e.search && e.search.mode === 'outcome') continue;
      assert(e.resource.name[0].family === family, 'a search match of another family', e.resource);
      seen.add(e.resource.id);
    }
    assert(pages < 10, 'paging does not end');
    page = client.nextPage({ bundle: page });
    if (page) page = await page;
  }
  assert(seen.size === 5 && pages === 3, `5 Patients in 3 pages of 2, got ${seen.size} in ${pages}`);
});

step('transaction', async () => {
  const enc = 'urn:uuid:6f1c3a52-8d0e-4c1e-9a57-' + String(Date.now()).padStart(12, '0').slice(-12);
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: enc,
        resource: {
          resourceType: 'Encounter',
          status: 'finished',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          subject: { reference: 'Patient/' + state.pid },
          period: { start: '2025-05-05' },
        },
        request: { method: 'POST', url: 'Encounter' },
      },
      { resource: weight('Patient/' + state.pid, '2025-05-05', 10.2, enc), request: { method: 'POST', url: 'Observation' } },
      { resource: weight('Patient/' + state.pid, '2025-06-05', 10.6), request: { method: 'POST', url: 'Observation' } },
    ],
  };
  const r = await client.transaction({ body: bundle });
  assert(r.resourceType === 'Bundle' && r.type === 'transaction-response', 'transaction-response', r);
  const st = r.entry.map((e) => e.response.status);
  assert(st.every((s) => s.startsWith('201')), 'every entry created', st);
  state.obs = r.entry[1].response.location.split('/').slice(0, 2).join('/');
});

step('batch', async () => {
  const r = await client.batch({
    body: {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: 'Patient/' + state.pid } },
        { request: { method: 'GET', url: state.obs } },
        { request: { method: 'GET', url: 'Patient/nosuchpatient' } },
        { resource: patient(family, 'Batch', run + '-6'), request: { method: 'POST', url: 'Patient' } },
      ],
    },
  });
  assert(r.type === 'batch-response', 'batch-response', r);
  const st = r.entry.map((e) => e.response.status.slice(0, 3));
  assert(JSON.stringify(st) === JSON.stringify(['200', '200', '404', '201']), 'batch statuses', st);
  assert(r.entry[0].resource.id === state.pid, 'batch read', r.entry[0]);
});

step('$everything (GET and POST)', async () => {
  const types = (b) => (b.entry || []).map((e) => e.resource.resourceType);
  const get = await client.operation({ name: 'everything', resourceType: 'Patient', id: state.pid, method: 'GET' });
  const t = types(get);
  assert(t[0] === 'Patient' && t.includes('Encounter') && t.filter((x) => x === 'Observation').length >= 2, '$everything by GET', t);
  const post = await client.operation({ name: 'everything', resourceType: 'Patient', id: state.pid });
  assert(JSON.stringify(types(post)) === JSON.stringify(t), '$everything by POST (no body) is the GET', types(post));
  const params = await client.operation({
    name: 'everything',
    resourceType: 'Patient',
    id: state.pid,
    input: { resourceType: 'Parameters', parameter: [{ name: '_count', valueInteger: 100 }] },
  });
  assert(types(params)[0] === 'Patient', '$everything by POST with Parameters', types(params));
});

step('conditional update', async () => {
  // One match: PUT Patient?identifier= updates state.pid (version 3 after
  // the update step), through update() and through the request API.
  const ident = 'urn:contigo:fhirclient|' + run + '-1';
  const body = { ...state.patient, gender: 'female', birthDate: '2023-04-03' };
  delete body.meta;
  const p = await client.update({ resourceType: 'Patient', searchParams: { identifier: ident }, body });
  const res = Client.httpFor(p).response;
  assert(res.status === 200 && p.id === state.pid && p.meta.versionId === '3', 'conditional update of the match', { status: res.status, id: p.id, meta: p.meta });
  assert(p.birthDate === '2023-04-03', 'conditional update stored the body', p.birthDate);
  const again = await client.request('Patient?identifier=' + encodeURIComponent(ident), {
    method: 'PUT',
    body: { ...body, gender: 'male' },
    options: { headers: { 'content-type': 'application/fhir+json', 'If-Match': 'W/"3"' } },
  });
  assert(again.id === state.pid && again.meta.versionId === '4' && again.gender === 'male', 'conditional update under If-Match', again.meta);
  // No match: a new Patient (201), no id in the body.
  const fresh = patient(family, 'Upsert', run + '-7');
  const c = await client.update({ resourceType: 'Patient', searchParams: { identifier: 'urn:contigo:fhirclient|' + run + '-7' }, body: fresh });
  const cres = Client.httpFor(c).response;
  assert(cres.status === 201 && c.id && c.id !== state.pid && c.meta.versionId === '1', 'conditional update with no match creates', { status: cres.status, c });
  state.upserted = c.id;
  // A stale If-Match loses: 412, nothing stored.
  const s = await status(client.update({ resourceType: 'Patient', searchParams: { identifier: ident }, body, options: { headers: { 'If-Match': 'W/"3"' } } }));
  assert(s === 412, 'a stale If-Match on a conditional update is 412', s);
  const cur = await client.read({ resourceType: 'Patient', id: state.pid });
  assert(cur.meta.versionId === '4', 'the 412 stored nothing', cur.meta);
});

// $export needs the ministry role (CONTIGO_EXPORT_TOKEN); fhir-kit-client
// has no Bulk Data helper, so the kick-off and the polling go through its
// request API and the NDJSON file through fetch (it is not one JSON body).
step('$export', async () => {
  const exportToken = process.env.CONTIGO_EXPORT_TOKEN;
  assert(exportToken, 'CONTIGO_EXPORT_TOKEN is required');
  const bulk = new Client({ baseUrl: base, bearerToken: exportToken });
  const kick = await bulk.request('Patient/$export?_type=Patient', {
    options: { headers: { Prefer: 'respond-async', Accept: 'application/fhir+json' } },
  });
  const kres = Client.httpFor(kick).response;
  const statusURL = kres.headers.get('content-location');
  assert(kres.status === 202 && statusURL && statusURL.includes('/$export-status/'), 'kick-off answers 202 and Content-Location', { status: kres.status, statusURL });
  let manifest;
  for (let i = 0; i < 600 && !manifest; i++) {
    const r = await bulk.request(statusURL);
    const st = Client.httpFor(r).response.status;
    if (st === 200) manifest = r;
    else {
      assert(st === 202, 'status polling answers 202 until done', st);
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
  assert(manifest, 'the export did not finish in 60 s');
  assert(manifest.requiresAccessToken === true && Array.isArray(manifest.output), 'manifest', manifest);
  const out = manifest.output.find((o) => o.type === 'Patient');
  assert(out && out.url, 'no Patient file in the manifest', manifest.output);
  const file = await fetch(out.url, { headers: { Authorization: 'Bearer ' + exportToken, Accept: 'application/fhir+ndjson' } });
  assert(file.status === 200, 'export file', file.status);
  const lines = (await file.text()).split('\n').filter((l) => l.trim() !== '');
  const ids = lines.map((l) => JSON.parse(l)).map((r) => r.resourceType + '/' + r.id);
  assert(ids.includes('Patient/' + state.pid) && ids.includes('Patient/' + state.upserted), 'the NDJSON holds this run\'s Patients', ids.slice(0, 20));
  assert(lines.length === out.count, `count ${out.count} in the manifest, ${lines.length} lines`);
});

step('$summary (GET and POST)', async () => {
  const check = (b, how) => {
    assert(b.resourceType === 'Bundle' && b.type === 'document' && b.identifier && b.timestamp, how + ': a document Bundle', b);
    const comp = b.entry[0].resource;
    assert(comp.resourceType === 'Composition' && comp.status === 'final', how + ': a final Composition first', comp);
    assert(comp.type.coding.some((c) => c.system === 'http://loinc.org' && c.code === '60591-5'), how + ': IPS type', comp.type);
    const urls = new Map(b.entry.map((e) => [e.fullUrl, e.resource]));
    const subject = urls.get(comp.subject.reference);
    assert(subject && subject.resourceType === 'Patient' && subject.id === state.pid, how + ': subject is the Patient', comp.subject);
    const codes = comp.section.map((s) => s.code.coding[0].code);
    for (const want of ['10160-0', '48765-2', '11450-4']) assert(codes.includes(want), how + ': section ' + want, codes);
    for (const s of comp.section) {
      for (const e of s.entry || []) assert(urls.has(e.reference), how + ': entry in the Bundle', e.reference);
    }
    const ips = 'http://hl7.org/fhir/uv/ips/StructureDefinition/';
    assert((b.meta?.profile || []).includes(ips + 'Bundle-uv-ips') && (comp.meta?.profile || []).includes(ips + 'Composition-uv-ips'), how + ': claims the IPS Bundle and Composition profiles', b.meta, comp.meta);
    assert((subject.meta?.profile || []).includes(ips + 'Patient-uv-ips'), how + ': the Patient claims Patient-uv-ips', subject.meta);
    for (const s of comp.section) assert(!s.emptyReason && (s.entry || []).length > 0, how + ': section ' + s.code.coding[0].code + ' has entries and no emptyReason', s);
    const meds = comp.section.find((s) => s.code.coding[0].code === '10160-0');
    for (const e of meds.entry) assert(urls.get(e.reference).resourceType === 'MedicationStatement', how + ': medications are MedicationStatements', e.reference);
    const vitals = comp.section.find((s) => s.code.coding[0].code === '8716-3');
    assert(vitals && vitals.entry.length >= 2, how + ': the weights are vital signs', vitals);
  };
  check(await client.operation({ name: 'summary', resourceType: 'Patient', id: state.pid, method: 'GET' }), 'GET');
  check(await client.operation({ name: 'summary', resourceType: 'Patient', id: state.pid, input: { resourceType: 'Parameters' } }), 'POST');
  assert((await status(client.operation({ name: 'summary', resourceType: 'Patient', id: 'nope', method: 'GET' }))) === 404, '$summary of an unknown Patient');
});

for (const { name, fn } of steps) {
  try {
    const r = await fn();
    console.log(JSON.stringify({ step: name, result: r === 'skipped' ? 'skipped' : 'ok' }));
  } catch (e) {
    const detail = e.response ? { status: e.response.status, data: e.response.data } : undefined;
    console.log(JSON.stringify({ step: name, result: 'fail', error: String(e.message || e), detail }));
    process.exit(1);
  }
}
