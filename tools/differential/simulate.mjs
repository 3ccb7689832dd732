// Dev-only: answers "does this identity policy allow this request" with @cloud-copilot/iam-simulate, an
// independent IAM policy simulator, for tests/dev/test_ana_differential.py.
// stdin: a JSON array of {"policy": {...}, "action": "s3:GetObject", "resource": "arn:..."};
// stdout: a JSON array, one per case, {"result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"} or
// {"error": "..."} when the simulator rejects the case (an unknown action, a resource of the wrong type).
// Run: node tools/differential/simulate.mjs  (with NODE_PATH or from a folder whose node_modules has it)
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const installed = resolve(process.env.IAM_GUARD_NODE_DIFFERENTIAL ?? '.node-differential')
const require = createRequire(resolve(installed, 'package.json'))
const { runSimulation } = await import(require.resolve('@cloud-copilot/iam-simulate'))

const ACCOUNT = '111122223333'
const cases = JSON.parse(readFileSync(0, 'utf8'))
const answers = []
for (const item of cases) {
  const simulation = {
    request: {
      principal: `arn:aws:iam::${ACCOUNT}:role/differential`,
      action: item.action,
      resource: { resource: item.resource, accountId: ACCOUNT },
      contextVariables: {}
    },
    identityPolicies: [{ name: 'policy', policy: item.policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: []
  }
  try {
    const response = await runSimulation(simulation, {})
    if (response.resultType === 'error') {
      answers.push({ error: JSON.stringify(response.errors).slice(0, 400) })
    } else {
      answers.push({ result: response.overallResult })
    }
  } catch (error) {
    answers.push({ error: String(error).slice(0, 400) })
  }
}
process.stdout.write(JSON.stringify(answers))
