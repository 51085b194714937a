/**
 * The functions-framework floor: an HTTP function that answers every AdmissionReview with an empty
 * allowed response (the request's uid, nothing injected). functions-framework has parsed the JSON
 * body already, as it does for ours. Served exactly like ours:
 *   functions-framework --target=echo --signature-type=http --source=scripts/bench/servers/echo-ff.js
 */
'use strict';
const {http} = require('@google-cloud/functions-framework');

http('echo', (req, res) => {
  const body = req.body;
  const uid = body && body.request && typeof body.request.uid === 'string' ? body.request.uid : '';
  const apiVersion = body && typeof body.apiVersion === 'string' ? body.apiVersion : 'admission.k8s.io/v1';
  res.status(200).json({apiVersion, kind: 'AdmissionReview', response: {uid, allowed: true}});
});
