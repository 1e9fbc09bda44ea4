// Entry point of `npx cdk synth` at the repository root (see cdk.json).
import { createExamplesApp } from './index';

createExamplesApp().synth();
